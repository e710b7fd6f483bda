import { describe, expect, it } from 'vitest';
import { cached, EPHEMERAL, longText, turn } from './cache-helpers';
import { newSim, toolResultsFor, WEATHER_TOOL, type Sim } from './helpers';

const KEY = 'sk-sim-count';
const user = (content: unknown) => ({ role: 'user', content });
const base = {
  model: 'claude-opus-4-8',
  thinking: { type: 'adaptive', display: 'omitted' },
  system: longText(1500),
  tools: [WEATHER_TOOL],
};
const messagesBody = (body: Record<string, unknown>) => ({ ...body, max_tokens: 4000 });

function count(sim: Sim, body: unknown, headers: Record<string, string> = { 'x-api-key': KEY }) {
  return sim.fetch(
    new Request('http://sim/v1/messages/count_tokens', {
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

async function counted(sim: Sim, body: unknown): Promise<number> {
  const res = await count(sim, body);
  const answer = (await res.json()) as any;
  expect(res.status, JSON.stringify(answer)).toBe(200);
  expect(Object.keys(answer)).toEqual(['input_tokens']);
  return answer.input_tokens;
}

async function error(res: Response) {
  const body = (await res.json()) as any;
  expect(body).toMatchObject({ type: 'error', request_id: res.headers.get('request-id') });
  return { status: res.status, type: body.error.type, message: body.error.message as string };
}

const total = (usage: any) => {
  const u = cached(usage);
  return u.input + u.read + u.creation;
};

describe('POST /v1/messages/count_tokens', () => {
  it('answers the total the same request’s usage counts, history with its thinking included', async () => {
    const sim = newSim({ apiKey: KEY });
    const first = { ...base, messages: [user('What is a tide?')] };
    const answered = await turn(sim, messagesBody(first), 'json', { 'x-api-key': KEY });
    expect(await counted(sim, first)).toBe(total(answered.usage));

    const second = {
      ...base,
      cache_control: EPHEMERAL,
      messages: [
        ...first.messages,
        { role: 'assistant', content: answered.content },
        user(toolResultsFor(answered.content)),
      ],
    };
    expect(answered.content.some((b) => b.type === 'thinking')).toBe(true);
    const n = await counted(sim, second);
    expect(n).toBeGreaterThan(await counted(sim, first));
    const next = await turn(sim, messagesBody(second), 'json', { 'x-api-key': KEY });
    expect(n).toBe(total(next.usage));
  });

  it('is deterministic and grows with the prompt', async () => {
    const sim = newSim({ apiKey: KEY });
    const short = { model: 'claude-opus-4-8', messages: [user('hi')] };
    const long = { ...short, messages: [user(`hi ${'there '.repeat(200)}`)] };
    expect(await counted(sim, short)).toBe(await counted(sim, short));
    expect(await counted(sim, long)).toBeGreaterThan(await counted(sim, short));
  });

  it('leaves the prompt cache as it was', async () => {
    const sim = newSim({ apiKey: KEY });
    const body = { ...base, cache_control: EPHEMERAL, messages: [user('What is a tide?')] };
    await counted(sim, body);
    await counted(sim, body);
    const first = await turn(sim, messagesBody(body), 'json', { 'x-api-key': KEY });
    expect(cached(first.usage).read).toBe(0);
    expect(cached(first.usage).creation).toBeGreaterThan(0);
  });

  it('refuses a missing model, bad messages, max_tokens and stream with a 400', async () => {
    const sim = newSim({ apiKey: KEY });
    const messages = [user('hi')];
    for (const [body, said] of [
      [{ messages }, 'model: Field required'],
      [{ model: 'claude-opus-4-8' }, 'messages: Field required'],
      [{ model: 'claude-opus-4-8', messages: [{ role: 'assistant', content: 'hi' }] }, ''],
      [{ model: 'claude-opus-4-8', messages, stream: true }, 'stream: Extra inputs'],
      [{ model: 'claude-opus-4-8', messages, max_tokens: 10 }, 'max_tokens: Extra inputs'],
      ['{not json', 'not valid JSON'],
    ] as const) {
      const e = await error(await count(sim, body));
      expect([e.status, e.type], JSON.stringify(body)).toEqual([400, 'invalid_request_error']);
      expect(e.message).toContain(said);
    }
    expect(sim.requests.every((r) => r.path === '/v1/messages/count_tokens')).toBe(true);
  });

  it('asks for the API key like /v1/messages (401)', async () => {
    const sim = newSim({ apiKey: KEY });
    const body = { model: 'claude-opus-4-8', messages: [user('hi')] };
    expect(await error(await count(sim, body, {}))).toMatchObject({
      status: 401,
      type: 'authentication_error',
    });
    expect((await error(await count(sim, body, { 'x-api-key': 'wrong' }))).status).toBe(401);
    expect(await counted(sim, body)).toBeGreaterThan(0);
    const bearer = await count(sim, body, { authorization: `Bearer ${KEY}` });
    expect(bearer.status).toBe(200);
  });
});
