import { describe, expect, it } from 'vitest';
import { longText } from './cache-helpers';
import {
  accumulateAll,
  COMPACT_BETA,
  compactEdit,
  countTokens,
  longHistory,
  promptOf,
  user,
  type Msg,
} from './compaction-helpers';
import { expectError, json, newSim, stream, type Sim } from './helpers';

const base = {
  model: 'claude-opus-4-8',
  max_tokens: 4000,
  thinking: { type: 'adaptive', display: 'omitted' },
};
const body = (messages: Msg[], extra: Record<string, unknown> = {}) => ({
  ...base,
  ...extra,
  messages,
});
const TOO_LONG = (n: number, window: number) =>
  `prompt is too long: ${n} tokens > ${window} maximum`;

async function tooLong(sim: Sim, b: Record<string, unknown>, headers?: Record<string, string>) {
  const e = await expectError(sim, b, headers);
  expect([e.status, e.type]).toEqual([400, 'invalid_request_error']);
  return e.message;
}

const count = (sim: Sim, messages: Msg[], model = base.model) =>
  countTokens(sim, { model, messages });

describe('context window', () => {
  it('is 200k on most models and 1M on the large-window ones', async () => {
    const sim = newSim();
    const messages = [user(longText(210_000))];
    const n = await count(sim, messages);
    expect(n).toBeGreaterThan(200_000);
    const small = { model: 'claude-sonnet-4-5', thinking: undefined };
    expect(await tooLong(sim, body(messages, small))).toBe(TOO_LONG(n, 200_000));
    for (const model of ['claude-haiku-5-5', 'claude-sonnet-5-5', 'claude-fable-5-2'])
      expect(await tooLong(sim, body(messages, { model, thinking: undefined }))).toBe(
        TOO_LONG(n, 200_000),
      );
    for (const model of ['claude-opus-4-8', 'claude-sonnet-4-6', 'claude-fable-5-1']) {
      const res = await json(sim, body(messages, { model, thinking: undefined }));
      expect(res.status, model).toBe(200);
      expect(res.body.usage.input_tokens).toBe(n);
    }
  });

  it('contextWindowTokens overrides every model’s window, and can change after creation', async () => {
    const sim = newSim({ contextWindowTokens: 1000 });
    const messages = [user(longText(1200))];
    const n = await count(sim, messages);
    expect(n).toBeGreaterThan(1000);
    expect(await tooLong(sim, body(messages))).toBe(TOO_LONG(n, 1000));
    expect(
      await tooLong(sim, body(messages, { model: 'claude-sonnet-4-5', thinking: undefined })),
    ).toBe(TOO_LONG(n, 1000));
    sim.options.contextWindowTokens = 60_000;
    expect((await json(sim, body(messages))).status).toBe(200);
    sim.options.contextWindowTokens = n - 1;
    expect(await tooLong(sim, body(messages))).toBe(TOO_LONG(n, n - 1));
    sim.options.contextWindowTokens = undefined;
    expect((await json(sim, body(messages))).status).toBe(200);
    // streamed too: the 400 comes before any event
    sim.options.contextWindowTokens = 1000;
    expect(await tooLong(sim, body(messages, { stream: true }))).toBe(TOO_LONG(n, 1000));
  });

  it('does not apply to count_tokens', async () => {
    const sim = newSim({ contextWindowTokens: 1000 });
    expect(await count(sim, [user(longText(1200))])).toBeGreaterThan(1000);
  });

  it('ends an answer cut by the window with model_context_window_exceeded', async () => {
    const sim = newSim();
    const messages = [user('Tell me everything. [sim:words=600]')];
    const n = await count(sim, messages);
    sim.options.contextWindowTokens = n + 300;

    const cut = await json(sim, body(messages));
    expect(cut.status).toBe(200);
    expect(cut.body.stop_reason).toBe('model_context_window_exceeded');
    expect(cut.body.usage.output_tokens).toBeLessThanOrEqual(300);
    expect(cut.body.usage.output_tokens).toBeGreaterThan(200);

    const { events } = await stream(sim, body(messages));
    expect(events.at(-2)!.data.delta.stop_reason).toBe('model_context_window_exceeded');
    expect(accumulateAll(events).at(-1)!.text).toBe(cut.body.content.at(-1).text);

    // max_tokens below the room: an ordinary max_tokens stop
    const capped = await json(sim, body(messages, { max_tokens: 200 }));
    expect(capped.body.stop_reason).toBe('max_tokens');
    // an answer that fits the room ends normally
    const short = await json(sim, body([user('Short answer. [sim:words=20]')]));
    expect(short.body.stop_reason).toBe('end_turn');
  });

  it('with compaction, checks the prompt after the compaction', async () => {
    const sim = newSim({ contextWindowTokens: 60_000 });
    const compact = { context_management: compactEdit() };
    const history = longHistory('What now?', 65_000);
    const n = await count(sim, history);
    expect(n).toBeGreaterThan(60_000);
    expect(await tooLong(sim, body(history))).toBe(TOO_LONG(n, 60_000));
    const res = await json(sim, body(history, compact), COMPACT_BETA);
    expect(res.status).toBe(200);
    expect(res.body.content[0].type).toBe('compaction');
    expect(promptOf(res.body.usage.iterations[0])).toBe(n);
    expect(promptOf(res.body.usage)).toBeLessThan(1000);

    // the last user message alone is too long: the post-compaction prompt is refused
    const last = [...history.slice(0, 2), user(longText(61_000))];
    const message = await tooLong(sim, body(last, compact), COMPACT_BETA);
    const [, tokens] = message.match(/^prompt is too long: (\d+) tokens > 60000 maximum$/)!;
    expect(Number(tokens)).toBeGreaterThan(60_000);
    expect(Number(tokens)).toBeLessThan(await count(sim, last));
  });
});
