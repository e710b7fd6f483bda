// Helpers for the simulator's own tests: post to an in-process simulator, parse its SSE with
// eventsource-parser, and accumulate a streamed message the way a gateway would.

import { createParser } from 'eventsource-parser';
import { createSimulator, type SimulatorOptions } from '../../simulator/index';

export type Sim = ReturnType<typeof createSimulator>;
export type Block = Record<string, any>;
export interface SseEvent {
  event: string;
  data: any;
  /** ms since the request was sent. */
  at: number;
}

export const newSim = (options?: SimulatorOptions): Sim => createSimulator(options);

export function post(
  sim: Sim,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  return sim.fetch(
    new Request('http://sim/v1/messages', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'anthropic-version': '2026-10-21',
        ...headers,
      },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    }),
  );
}

export async function readEvents(res: Response, started = Date.now()): Promise<SseEvent[]> {
  const events: SseEvent[] = [];
  const parser = createParser({
    onEvent: (e) =>
      events.push({
        event: e.event ?? 'message',
        data: JSON.parse(e.data),
        at: Date.now() - started,
      }),
  });
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    parser.feed(value);
  }
  return events;
}

export async function stream(
  sim: Sim,
  body: Record<string, unknown>,
  headers?: Record<string, string>,
) {
  const started = Date.now();
  const res = await post(sim, { ...body, stream: true }, headers);
  if (res.status !== 200) throw new Error(`${res.status} ${await res.text()}`);
  return { res, events: await readEvents(res, started) };
}

/** Accumulate the assistant `content` from stream events (signature replaced, JSON parsed). */
export function accumulate(events: SseEvent[]): Block[] {
  const blocks: Block[] = [];
  const json: string[] = [];
  for (const { event, data } of events) {
    if (event === 'content_block_start') {
      blocks[data.index] = { ...data.content_block };
      json[data.index] = '';
    } else if (event === 'content_block_delta') {
      const b = blocks[data.index]!;
      const d = data.delta;
      if (d.type === 'text_delta') b.text += d.text;
      if (d.type === 'thinking_delta') b.thinking += d.thinking;
      if (d.type === 'signature_delta') b.signature = d.signature;
      if (d.type === 'input_json_delta') json[data.index] += d.partial_json;
    } else if (event === 'content_block_stop') {
      const b = blocks[data.index]!;
      if (b.type === 'tool_use') b.input = json[data.index] ? JSON.parse(json[data.index]!) : {};
    }
  }
  return blocks;
}

export async function json(
  sim: Sim,
  body: Record<string, unknown>,
  headers?: Record<string, string>,
) {
  const res = await post(sim, body, headers);
  return { res, status: res.status, body: (await res.json()) as any };
}

export async function expectError(
  sim: Sim,
  body: unknown,
  headers?: Record<string, string>,
): Promise<{ status: number; type: string; message: string; requestId: string | null; body: any }> {
  const res = await post(sim, body, headers);
  const parsed = (await res.json()) as any;
  return {
    status: res.status,
    type: parsed.error?.type,
    message: parsed.error?.message,
    requestId: res.headers.get('request-id'),
    body: parsed,
  };
}

export const WEATHER_TOOL = {
  name: 'get_weather',
  description: 'Current weather for a location',
  input_schema: {
    type: 'object',
    properties: {
      location: { type: 'string' },
      days: { type: 'integer' },
      metric: { type: 'boolean' },
    },
    required: ['location'],
  },
};

export const SEARCH_TOOL = {
  name: 'search',
  input_schema: { type: 'object', properties: { query: { type: 'string' } }, required: ['query'] },
};

export const names = (events: SseEvent[]) => events.map((e) => e.event);

export function toolResultsFor(content: Block[], text = (b: Block) => `result for ${b.name}`) {
  return content
    .filter((b) => b.type === 'tool_use')
    .map((b) => ({ type: 'tool_result', tool_use_id: b.id, content: text(b) }));
}
