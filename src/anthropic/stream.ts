/**
 * Pure translation of the Messages API event stream into (a) the events our clients see and
 * (b) the assistant turn exactly as Claude sent it, for the conversation store. No I/O:
 * the route feeds events in and writes what comes out.
 *
 * What the wire may carry (reference §2): zero or more empty `thinking_delta`s before the
 * single `signature_delta` (which replaces, never appends); several thinking blocks per
 * turn; a `compaction` block first, filled by one `compaction_delta`; `ping`s anywhere; event and block types added after this was written; a block with
 * no deltas; a `tool_use` cut off by max_tokens without `content_block_stop`; and an
 * `error` event after the HTTP 200.
 */
import type { BetaCompactionContentBlockDelta } from '@anthropic-ai/sdk/resources/beta/messages/messages';
import type {
  CacheMissReason,
  ContentBlock,
  RawMessageStreamEvent,
  RefusalStopDetails,
  StopReason,
  TextBlock,
  ToolUseBlock,
} from '@anthropic-ai/sdk/resources/messages';
import type { TurnUsage } from '../contract/answer';
import type { ClientEvent, Phase } from '../contract/events';
import { mergeUsage } from './usage';

/** Anything the wire can carry: the SDK's typed events, `ping`, `error`, or an unknown type. */
export type WireEvent =
  | RawMessageStreamEvent
  | { type: 'ping' }
  | { type: 'error'; error: { type: string; message: string } }
  | { type: string; [field: string]: unknown };

interface CompletedTurn {
  /** Upstream message id (`msg_…`). */
  id: string;
  model: string;
  /** Every block in order, thinking and redacted_thinking included, to be replayed as is. */
  content: ContentBlock[];
  stop_reason: StopReason | null;
  /** Claude's details of a refusal (null for other stop reasons). */
  stop_details: RefusalStopDetails | null;
  usage: TurnUsage;
  /** Why the prompt cache missed, when the request asked (`diagnostics.previous_message_id`). */
  cache_miss_reason: CacheMissReason | null;
}

export type TurnResult =
  | { ok: true; turn: CompletedTurn }
  | { ok: false; error: { type: string; message: string }; usage: TurnUsage };

type Slot = { block: ContentBlock; json?: string; closed: boolean };

export class StreamTranslator {
  #slots: Slot[] = [];
  #phase: Phase | null = null;
  #id = '';
  #model = '';
  #stopReason: StopReason | null = null;
  #stopDetails: RefusalStopDetails | null = null;
  #usage: TurnUsage = {
    input_tokens: 0,
    output_tokens: 0,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
  };
  #cacheMissReason: CacheMissReason | null = null;
  #stopped = false;
  #error: { type: string; message: string } | null = null;

  constructor(private readonly emit: (event: ClientEvent) => void) {}

  push(event: WireEvent): void {
    switch (event.type) {
      case 'message_start': {
        const { message } = event as Extract<RawMessageStreamEvent, { type: 'message_start' }>;
        this.#id = message.id;
        this.#model = message.model;
        this.#cacheMissReason = message.diagnostics?.cache_miss_reason ?? null;
        if (message.stop_details) this.#stopDetails = message.stop_details;
        this.#mergeUsage(message.usage);
        return;
      }
      case 'content_block_start': {
        const e = event as Extract<RawMessageStreamEvent, { type: 'content_block_start' }>;
        // A copy: the start object is the block's initial state, deltas then fill it in.
        const block = { ...e.content_block } as ContentBlock;
        this.#slots[e.index] = {
          block,
          closed: false,
          json: block.type === 'tool_use' ? '' : undefined,
        };
        if ((block.type as string) === 'compaction') this.#enter('compacting');
        else if (block.type === 'thinking' || block.type === 'redacted_thinking')
          this.#enter('thinking');
        else if (block.type === 'text' || block.type === 'tool_use') this.#enter('answering');
        return;
      }
      case 'content_block_delta': {
        const e = event as Extract<RawMessageStreamEvent, { type: 'content_block_delta' }>;
        const slot = this.#slots[e.index];
        if (!slot) return;
        const { block } = slot;
        const delta = e.delta;
        switch (delta.type) {
          case 'text_delta':
            if (block.type !== 'text') return;
            block.text += delta.text;
            if (delta.text) this.emit({ event: 'text', data: { text: delta.text } });
            return;
          case 'thinking_delta':
            if (block.type === 'thinking') block.thinking += delta.thinking;
            return;
          case 'signature_delta':
            if (block.type === 'thinking') block.signature = delta.signature;
            return;
          case 'input_json_delta':
            if (slot.json !== undefined) slot.json += delta.partial_json;
            return;
          case 'citations_delta':
            if (block.type === 'text')
              block.citations = [...(block.citations ?? []), delta.citation];
            return;
          default:
            if ((delta as { type: string }).type === 'compaction_delta') {
              compact(block, delta as unknown as BetaCompactionContentBlockDelta);
            }
            return;
        }
      }
      case 'content_block_stop': {
        const e = event as Extract<RawMessageStreamEvent, { type: 'content_block_stop' }>;
        const slot = this.#slots[e.index];
        if (!slot || slot.closed) return;
        slot.closed = true;
        if (slot.block.type === 'tool_use') {
          const tool = slot.block as ToolUseBlock;
          tool.input = parseInput(slot.json ?? '');
          this.emit({
            event: 'tool_use',
            data: { id: tool.id, name: tool.name, input: tool.input },
          });
        }
        return;
      }
      case 'message_delta': {
        const e = event as Extract<RawMessageStreamEvent, { type: 'message_delta' }>;
        if (e.delta.stop_reason) this.#stopReason = e.delta.stop_reason;
        if (e.delta.stop_details) this.#stopDetails = e.delta.stop_details;
        this.#mergeUsage(e.usage);
        return;
      }
      case 'message_stop':
        this.#stopped = true;
        return;
      case 'error': {
        const e = event as { error?: { type?: unknown; message?: unknown } };
        this.#error = {
          type: typeof e.error?.type === 'string' ? e.error.type : 'api_error',
          message: typeof e.error?.message === 'string' ? e.error.message : 'Upstream error',
        };
        return;
      }
      default:
        // `ping` and event types added after this was written carry nothing we keep.
        return;
    }
  }

  /** Cumulative usage so far: a failed turn is still paid for. */
  get usage(): TurnUsage {
    return this.#usage;
  }

  /** Call when the upstream body has ended (or failed with `error`). */
  finish(error?: { type: string; message: string }): TurnResult {
    const failure =
      error ??
      this.#error ??
      (this.#stopped
        ? null
        : {
            type: 'api_error',
            message:
              'The connection to Claude closed before the answer was complete. Send the turn again.',
          });
    if (failure) return { ok: false, error: failure, usage: this.#usage };
    return {
      ok: true,
      turn: {
        id: this.#id,
        model: this.#model,
        content: this.#completedBlocks(),
        stop_reason: this.#stopReason,
        stop_details: this.#stopDetails,
        usage: this.#usage,
        cache_miss_reason: this.#cacheMissReason,
      },
    };
  }

  #enter(phase: Phase) {
    if (this.#phase === phase) return;
    this.#phase = phase;
    this.emit({ event: 'status', data: { phase } });
  }

  #completedBlocks(): ContentBlock[] {
    const blocks: ContentBlock[] = [];
    for (const slot of this.#slots) {
      if (!slot) continue;
      // A tool call cut off by max_tokens (no content_block_stop) was never a call: there is
      // nothing the client could answer, so it is neither shown nor stored.
      if (slot.block.type === 'tool_use' && !slot.closed) continue;
      // The API refuses empty text blocks on replay.
      if (slot.block.type === 'text' && (slot.block as TextBlock).text === '') continue;
      blocks.push(slot.block);
    }
    return blocks;
  }

  #mergeUsage(raw: Parameters<typeof mergeUsage>[1]) {
    mergeUsage(this.#usage, raw);
  }
}

/** The one `compaction_delta` carries the block's final value (the SDK assigns it too). */
function compact(block: ContentBlock, delta: BetaCompactionContentBlockDelta): void {
  const target = block as unknown as {
    type: string;
    content?: unknown;
    encrypted_content?: unknown;
  };
  if (target.type !== 'compaction') return;
  target.content = delta.content;
  if ('encrypted_content' in delta) target.encrypted_content = delta.encrypted_content;
}

function parseInput(json: string): unknown {
  if (json.trim() === '') return {};
  try {
    return JSON.parse(json);
  } catch {
    return {};
  }
}
