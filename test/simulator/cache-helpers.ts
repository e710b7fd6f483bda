// Helpers for the prompt-caching and diagnostics tests: one turn (JSON or streamed) reduced to
// what a gateway reads from it, and the prompt size computed independently of the simulator.

import { accumulate, json, stream, type Block, type Sim } from './helpers';

export interface Turn {
  id: string;
  content: Block[];
  /** `usage` of the JSON message, or of `message_start` when streamed. */
  usage: any;
  /** The final `message_delta` usage (streamed turns only). */
  delta?: any;
  diagnostics: any;
}

export async function turn(
  sim: Sim,
  body: Record<string, unknown>,
  how: 'json' | 'stream' = 'json',
  headers?: Record<string, string>,
): Promise<Turn> {
  if (how === 'stream') {
    const { events } = await stream(sim, body, headers);
    const message = events[0]!.data.message;
    const delta = events.find((e) => e.event === 'message_delta')!.data.usage;
    const content = accumulate(events);
    return {
      id: message.id,
      content,
      usage: message.usage,
      delta,
      diagnostics: message.diagnostics,
    };
  }
  const res = await json(sim, body, headers);
  if (res.status !== 200) throw new Error(`${res.status} ${JSON.stringify(res.body)}`);
  const message = res.body;
  return {
    id: message.id,
    content: message.content,
    usage: message.usage,
    diagnostics: message.diagnostics,
  };
}

/** Input tokens of the whole prompt: ceil(JSON of system + tools + messages / 4), markers left out. */
export function promptTokens(body: Record<string, unknown>): number {
  const strip = (key: string, value: unknown) => (key === 'cache_control' ? undefined : value);
  const parts = [body.system, body.tools, body.messages].filter((p) => p !== undefined);
  return Math.ceil(parts.reduce((n: number, p) => n + JSON.stringify(p, strip).length, 0) / 4);
}

export const cached = (usage: any) => ({
  read: usage.cache_read_input_tokens as number,
  creation: usage.cache_creation_input_tokens as number,
  input: usage.input_tokens as number,
});

/** About `tokens` tokens of stable system prompt. */
export function longText(tokens: number, seed = 'Rules'): string {
  const sentence = `${seed}: answer precisely, cite the source, keep units consistent. `;
  return sentence.repeat(Math.ceil((tokens * 4) / sentence.length));
}

export const EPHEMERAL = { type: 'ephemeral' } as const;
export const EPHEMERAL_1H = { type: 'ephemeral', ttl: '1h' } as const;
