import { describe, expect, it } from 'vitest';
import {
  accumulate,
  expectError,
  names,
  newSim,
  post,
  readEvents,
  toolResultsFor,
  WEATHER_TOOL,
  type Block,
} from './helpers';

const body = (text: string, extra: Record<string, unknown> = {}) => ({
  model: 'claude-opus-4-8',
  max_tokens: 4000,
  thinking: { type: 'adaptive', display: 'omitted' },
  messages: [{ role: 'user', content: text }],
  ...extra,
});

describe('errors before any byte', () => {
  const cases = [
    ['overloaded', 529, 'overloaded_error'],
    ['rate_limit', 429, 'rate_limit_error'],
    ['api_error', 500, 'api_error'],
    ['auth', 401, 'authentication_error'],
  ] as const;
  for (const [fault, status, type] of cases)
    it(`[sim:fail=${fault}] → ${status} ${type}, streaming or not`, async () => {
      const sim = newSim();
      for (const stream of [false, true, true]) {
        const e = await expectError(sim, body(`hi [sim:fail=${fault}]`, { stream }));
        expect([e.status, e.type]).toEqual([status, type]);
        expect(e.body.request_id).toBe(e.requestId);
      }
    });

  it('rate_limit has no retry-after; rate_limit_retry_after has retry-after: 1', async () => {
    const sim = newSim();
    const plain = await post(sim, body('hi [sim:fail=rate_limit]'));
    expect(plain.headers.get('retry-after')).toBeNull();
    const timed = await post(sim, body('hi [sim:fail=rate_limit_retry_after]'));
    expect([timed.status, timed.headers.get('retry-after')]).toEqual([429, '1']);
  });

  it('overloaded_once fails the first time a body is seen, then answers', async () => {
    const sim = newSim();
    const once = body('hi [sim:fail=overloaded_once]', { stream: true });
    expect((await post(sim, once)).status).toBe(529);
    const retry = await post(sim, once);
    expect(retry.status).toBe(200);
    expect(names(await readEvents(retry)).at(-1)).toBe('message_stop');
    expect((await post(sim, { ...once, max_tokens: 4001 })).status).toBe(529); // another body
    expect((await post(newSim(), once)).status).toBe(529); // another simulator
  });
});

describe('faults after the 200', () => {
  it('midstream_error: thinking block, some text, then an error event and the end', async () => {
    const res = await post(newSim(), body('hi [sim:fail=midstream_error]', { stream: true }));
    expect(res.status).toBe(200);
    const events = await readEvents(res);
    expect(names(events)).toEqual([
      'message_start',
      'content_block_start',
      'ping',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'content_block_start',
      'content_block_delta',
      'content_block_delta',
      'content_block_delta',
      'error',
    ]);
    expect(events.at(-1)!.data).toEqual({
      type: 'error',
      error: { type: 'overloaded_error', message: 'Overloaded' },
    });
    const nonStreaming = await expectError(newSim(), body('hi [sim:fail=midstream_error]'));
    expect(nonStreaming.status).toBe(529);
  });

  it('drop: some text deltas, then the body closes without message_stop', async () => {
    const res = await post(newSim(), body('hi [sim:fail=drop]', { stream: true }));
    expect(res.status).toBe(200);
    const events = await readEvents(res);
    const kinds = names(events);
    expect(events.filter((e) => e.data.delta?.type === 'text_delta').length).toBeGreaterThan(0);
    expect(kinds).not.toContain('message_delta');
    expect(kinds).not.toContain('message_stop');
    expect(kinds).not.toContain('error');
    const partial = await post(newSim(), body('hi [sim:fail=drop]'));
    expect(partial.status).toBe(200);
    await expect(partial.json()).rejects.toThrow();
  });

  it('max_tokens_tool: a cut tool_use block without content_block_stop, stop_reason max_tokens', async () => {
    const res = await post(
      newSim(),
      body('hi [sim:fail=max_tokens_tool]', { stream: true, tools: [WEATHER_TOOL] }),
    );
    const events = await readEvents(res);
    const start = events.find((e) => e.data.content_block?.type === 'tool_use')!;
    const index = start.data.index;
    const ofTool = events.filter((e) => e.data.index === index);
    expect(ofTool.map((e) => e.event)).not.toContain('content_block_stop');
    const partial = ofTool.map((e) => e.data.delta?.partial_json ?? '').join('');
    expect(() => JSON.parse(partial)).toThrow();
    expect(ofTool[1]!.data.delta.partial_json).toBe('');
    expect(names(events).slice(-2)).toEqual(['message_delta', 'message_stop']);
    expect(events.at(-2)!.data.delta.stop_reason).toBe('max_tokens');
    expect(names(events.slice(events.indexOf(start)))).toEqual([
      'content_block_start',
      ...ofTool.slice(1).map(() => 'content_block_delta'),
      'message_delta',
      'message_stop',
    ]);
  });

  it('unknown_event: an unknown event and an unknown content block without deltas', async () => {
    const res = await post(newSim(), body('hi [sim:fail=unknown_event]', { stream: true }));
    const events = await readEvents(res);
    const mystery = events.findIndex((e) => e.event === 'mystery');
    expect(mystery).toBeGreaterThan(0);
    expect(events[mystery - 1]!.data.delta?.type).toBe('text_delta'); // mid-stream
    const unknown = events.find(
      (e) => e.event === 'content_block_start' && e.data.content_block.type === 'mystery_block',
    )!;
    const ofBlock = events.filter((e) => e.data.index === unknown.data.index);
    expect(ofBlock.map((e) => e.event)).toEqual(['content_block_start', 'content_block_stop']);
    expect(names(events).at(-1)).toBe('message_stop');
  });

  it('unknown_event: the turn replays whether or not the unknown block is kept', async () => {
    const sim = newSim();
    const first = body('hi [sim:fail=unknown_event]', { tools: [WEATHER_TOOL] });
    const res = await post(sim, { ...first, stream: true });
    const content = accumulate(await readEvents(res));
    expect(content.map((b: Block) => b.type)).toEqual([
      'thinking',
      'text',
      'mystery_block',
      'tool_use',
    ]);
    for (const kept of [content, content.filter((b: Block) => b.type !== 'mystery_block')]) {
      const messages = [
        ...first.messages,
        { role: 'assistant', content: kept },
        { role: 'user', content: toolResultsFor(content) },
      ];
      expect((await post(sim, { ...first, messages })).status).toBe(200);
    }
  });
});
