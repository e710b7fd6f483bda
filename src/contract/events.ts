/**
 * The SSE events of a turn (API.md §3): what a client reads from `/v1/chat` with
 * `stream: true`, and from an Idempotency-Key replay of it.
 */
import type { TurnAnswer } from './answer';

/** `compacting`: Claude is summarising the conversation's history before it answers. */
export type Phase = 'compacting' | 'thinking' | 'answering';

/** The events Claude's stream turns into while the turn runs (anthropic/stream.ts). */
export type ClientEvent =
  | { event: 'status'; data: { phase: Phase } }
  | { event: 'text'; data: { text: string } }
  | { event: 'tool_use'; data: { id: string; name: string; input: unknown } };

/** Every event of a turn's stream, in the order they can come. */
export type TurnEvent =
  | { event: 'conversation'; data: { conversation_id: string; turn: number } }
  | ClientEvent
  | { event: 'done'; data: Pick<TurnAnswer, 'stop_reason' | 'stop_details' | 'usage' | 'turn'> }
  | { event: 'error'; data: { type: string; message: string } }
  | { event: 'cancelled'; data: { turn: number } };
