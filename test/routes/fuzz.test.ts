/**
 * Property-based fuzzing of every route: random JSON, wrong types, huge and tiny values,
 * broken UTF-8, hostile headers and path parameters. The Worker must never answer 5xx
 * (the simulator never fails unless told to) and every error must be the contract's shape.
 * Failures found here are kept as regular cases in the corpus at the bottom.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, call, createKey } from '../helpers/api';

let key = '';
beforeAll(async () => {
  key = (await createKey({ limits: { requests_per_minute: 1_000_000, concurrent_streams: 1000 } }))
    .key;
});

async function checkAnswer(res: Response) {
  expect(res.status, `status ${res.status}`).toBeLessThan(500);
  const text = await res.text();
  if (res.status >= 400) {
    const body = JSON.parse(text);
    expect(body.type).toBe('error');
    expect(typeof body.error.type).toBe('string');
    expect(body.error.message.length).toBeGreaterThan(5);
    expect(body.request_id).toBe(res.headers.get('request-id'));
  }
}

const jsonValue = fc.jsonValue({ maxDepth: 4 });
const chatish = fc.record(
  {
    conversation_id: fc.oneof(fc.string(), fc.constant('c_abc'), jsonValue),
    message: fc.oneof(
      fc.string(),
      fc.array(fc.record({ type: fc.string(), text: fc.string() })),
      jsonValue,
    ),
    tool_results: fc.oneof(
      fc.array(fc.record({ tool_use_id: fc.string(), content: fc.string() })),
      jsonValue,
    ),
    model: fc.oneof(
      fc.constantFrom('claude-sonnet-5', 'claude-opus-4-8', 'claude-sonnet-4-5'),
      fc.string(),
    ),
    system: fc.oneof(fc.string(), jsonValue),
    tools: fc.oneof(fc.array(fc.record({ name: fc.string(), input_schema: jsonValue })), jsonValue),
    tool_choice: fc.oneof(
      fc.record({ type: fc.constantFrom('auto', 'any', 'tool', 'none', 'x') }),
      jsonValue,
    ),
    max_tokens: fc.oneof(fc.integer(), fc.double(), fc.constant(2 ** 53), jsonValue),
    thinking: fc.oneof(
      fc.record({ effort: fc.constantFrom('low', 'max', 'huge') }),
      fc.record({ budget_tokens: fc.integer() }),
      fc.record({ type: fc.string() }),
      jsonValue,
    ),
    stream: fc.oneof(fc.boolean(), jsonValue),
    speed: fc.oneof(fc.constantFrom('fast', 'standard'), jsonValue),
  },
  { requiredKeys: [] },
);

describe('fuzzing: no input produces a 5xx', { timeout: 120_000 }, () => {
  it('POST /v1/chat with random bodies', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(chatish, jsonValue), async (body) => {
        const res = await call('/v1/chat', {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        await checkAnswer(res);
      }),
      { numRuns: 200 },
    );
  });

  it('POST /v1/chat with random bytes, including broken UTF-8', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2048 }), async (bytes) => {
        const res = await call('/v1/chat', {
          method: 'POST',
          headers: { authorization: `Bearer ${key}` },
          body: bytes,
        });
        await checkAnswer(res);
      }),
      { numRuns: 100 },
    );
  });

  it('POST /admin/keys with random bodies', async () => {
    const body = fc.oneof(
      jsonValue,
      fc.record(
        {
          name: fc.oneof(fc.string(), jsonValue),
          kind: fc.oneof(fc.constantFrom('secret', 'publishable'), fc.string()),
          allowed_origins: fc.oneof(fc.array(fc.oneof(fc.webUrl(), fc.string())), jsonValue),
          limits: fc.oneof(
            fc.dictionary(fc.string(), fc.oneof(fc.integer(), fc.double())),
            jsonValue,
          ),
          prompt_cache_ttl: fc.oneof(fc.constantFrom('5m', '1h', 'off'), jsonValue),
          latency: jsonValue,
        },
        { requiredKeys: [] },
      ),
    );
    await fc.assert(
      fc.asyncProperty(body, async (b) => {
        const res = await call('/admin/keys', {
          method: 'POST',
          headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
          body: JSON.stringify(b),
        });
        await checkAnswer(res);
      }),
      { numRuns: 100 },
    );
  });

  it('random path parameters, methods and headers on every route', async () => {
    const segment = fc.oneof(
      fc.string({ maxLength: 600 }),
      fc.constant('c_' + 'a'.repeat(600)),
      fc.constant('..%2f..'),
    );
    const path = fc.oneof(
      segment.map((s) => `/v1/conversations/${encodeURIComponent(s)}`),
      segment.map((s) => `/admin/keys/${encodeURIComponent(s)}`),
      fc.constantFrom(
        '/v1/chat',
        '/v1/usage',
        '/health',
        '/docs',
        '/openapi.json',
        '/admin/keys',
        '/v1/nope',
      ),
    );
    const method = fc.constantFrom('GET', 'POST', 'DELETE', 'PUT', 'PATCH', 'OPTIONS');
    const auth = fc.oneof(
      fc.constant(`Bearer ${key}`),
      fc.constant(`Bearer ${ADMIN_TOKEN}`),
      fc.string({ maxLength: 300 }).map((s) => `Bearer ${s.replace(/[\r\n]/g, '')}`),
      fc.constant(''),
    );
    const accept = fc.constantFrom('application/json', 'text/event-stream', '*/*', '');
    await fc.assert(
      fc.asyncProperty(path, method, auth, accept, async (p, m, a, acc) => {
        const headers: Record<string, string> = {};
        if (a) headers.authorization = a;
        if (acc) headers.accept = acc;
        const res = await call(p, {
          method: m,
          headers,
          ...(m === 'POST' || m === 'PUT' || m === 'PATCH' ? { body: '{}' } : {}),
        });
        await checkAnswer(res);
      }),
      { numRuns: 150 },
    );
  });

  it('bodies around the size cap: at the cap is read, one byte over is a 413', async () => {
    const cap = 10 * 1024 * 1024;
    const wrap = (n: number) => JSON.stringify({ message: 'x'.repeat(n) });
    const overhead = wrap(0).length;
    const atCap = await call('/v1/chat', {
      method: 'POST',
      headers: { authorization: `Bearer ${key}` },
      body: wrap(cap - overhead),
    });
    expect(atCap.status).not.toBe(413);
    await checkAnswer(atCap);
    const over = await call('/v1/chat', {
      method: 'POST',
      headers: { authorization: `Bearer ${key}` },
      body: wrap(cap - overhead + 1),
    });
    expect(over.status).toBe(413);
    await checkAnswer(over);
  });
});

// Corpus: inputs that once failed, kept as regular cases.
describe('fuzz corpus', () => {
  it.each([
    ['a KV-key-sized conversation id', '/v1/conversations/c_' + 'a'.repeat(600), 'GET'],
    ['a percent-encoded slash in a key id', '/admin/keys/..%2f..', 'DELETE'],
  ])('%s', async (_name, path, method) => {
    await checkAnswer(
      await call(path, {
        method,
        headers: { authorization: `Bearer ${path.startsWith('/admin') ? ADMIN_TOKEN : key}` },
      }),
    );
  });
});
