// A faithful simulator of the Claude Messages API (`POST /v1/messages`), for tests (called
// in-process from workerd) and local runs (scripts/simulator.ts on Node). Signatures and ids are
// stateless; the prompt cache and the diagnostics fingerprints live in memory per instance.
// See simulator/README.md for the behaviour and the `[sim:…]` directives.

import { Hono } from 'hono';
import { DEFAULT_MIN_CACHE_TOKENS } from './cache';
import { prefixChain } from './canonical';
import { conversationView, verifyCompactionBlocks } from './compaction';
import { readConversation } from './conversation';
import { countTokens } from './count-tokens';
import { Hmac, randomBase62, sha256Hex } from './crypto';
import { errorResponse, invalid, SimError } from './errors';
import { SeenBodies, upfrontFault } from './faults';
import { jsonResponse } from './json';
import { planResponse } from './plan';
import { PromptState } from './prompt-state';
import { streamResponse } from './stream';
import { validate } from './validate';
import { verifyConversation } from './verify';

export { MODEL_IDS } from './models';

export interface SimulatorOptions {
  /** If set, requests must carry `Authorization: Bearer <apiKey>` or `x-api-key: <apiKey>`. */
  apiKey?: string;
  /** HMAC secret for signatures and tool_use ids (same secret ⇒ blocks verify across restarts). */
  secret?: string;
  /** Interval of `ping` events while "thinking" slowly (`[sim:think_ms=N]`). Default 1000. */
  pingIntervalMs?: number;
  /** Keep every request in `requests` (default true; the Node server turns it off). */
  recordRequests?: boolean;
  /** Shortest prefix (tokens) the prompt cache stores; shorter ones are never cached. Default 1024. */
  minCacheTokens?: number;
  /** Milliseconds clock for cache expiry (default `Date.now`); tests can move time forward. */
  clock?: () => number;
  /**
   * Context window of every model, in tokens (default: the model's own, 1,000,000 or 200,000).
   * Read on every request: `sim.options.contextWindowTokens = 60000` applies to the next one.
   */
  contextWindowTokens?: number;
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: any;
  /**
   * For a streamed answer: when its body ended (epoch ms), and whether the client stopped
   * reading it first (`cancelled`) — how a test sees that the upstream call was aborted.
   */
  stream?: { endedAt?: number; cancelled?: boolean };
}

export interface Simulator {
  fetch(req: Request): Promise<Response>;
  requests: RecordedRequest[];
  /**
   * The options the simulator was created with, live: `apiKey`, `pingIntervalMs` and
   * `contextWindowTokens` are read on every request (the others are fixed at creation).
   */
  options: SimulatorOptions;
}

export const DEFAULT_SECRET = 'thinking-edge-simulator-dev-secret';

function parseBody(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function jsonBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw invalid(
      'There was an issue with the format of your request: the body is not valid JSON.',
    );
  }
}

function authorized(headers: Headers, apiKey: string | undefined): SimError | null {
  if (!apiKey) return null;
  const bearer = headers.get('authorization')?.match(/^Bearer\s+(.+)$/i)?.[1];
  const key = headers.get('x-api-key') ?? bearer;
  if (!key) return new SimError('authentication_error', 'x-api-key header is required');
  return key === apiKey ? null : new SimError('authentication_error', 'invalid x-api-key');
}

export function createSimulator(options: SimulatorOptions = {}): Simulator {
  const requests: RecordedRequest[] = [];
  const seen = new SeenBodies();
  const prompts = new PromptState(
    options.minCacheTokens ?? DEFAULT_MIN_CACHE_TOKENS,
    options.clock ?? Date.now,
  );
  let hmac: Promise<Hmac> | undefined;
  const key = () => (hmac ??= Hmac.create(options.secret ?? DEFAULT_SECRET));

  async function createMessage(
    req: Request,
    text: string,
    requestId: string,
    record: RecordedRequest | undefined,
  ): Promise<Response> {
    const denied = authorized(req.headers, options.apiKey);
    if (denied) throw denied;
    const valid = validate(jsonBody(text), req.headers, new URL(req.url));
    const signer = await key();
    const { system, tools, messages } = valid.params;
    // Everything before the latest compaction block is ignored (after checking the blocks).
    await verifyCompactionBlocks(signer, messages);
    const view = conversationView(messages);
    const prefixes = await prefixChain({ system, tools, messages: view.messages });
    const verification = await verifyConversation(signer, valid, view, prefixes);
    const conversation = readConversation(view.messages, messages);
    const measured = await prompts.measure(valid, view, signer);
    const window = options.contextWindowTokens ?? valid.model.contextWindow;
    const promptTokens = measured.layout.totalTokens;
    if (promptTokens > window)
      throw invalid(`prompt is too long: ${promptTokens} tokens > ${window} maximum`);
    const bodyHash = await sha256Hex(text);
    const fault = upfrontFault(conversation.directives.fault, valid.stream, () =>
      seen.firstTime(bodyHash),
    );
    if (fault) throw fault;
    const { facts, print } = await prompts.assess(valid, measured);
    const plan = await planResponse(
      signer,
      valid,
      conversation,
      verification,
      { view, prefixes, windowRoom: window - promptTokens },
      facts,
    );
    await prompts.remember(plan, print);
    if (!valid.stream) return jsonResponse(plan, requestId);
    const stream: NonNullable<RecordedRequest['stream']> = {};
    if (record) record.stream = stream;
    return streamResponse(plan, options.pingIntervalMs ?? 1000, requestId, (cancelled) => {
      stream.endedAt = Date.now();
      stream.cancelled = cancelled;
    });
  }

  const app = new Hono<{ Variables: { requestId: string; record?: RecordedRequest } }>();
  app.use('*', async (c, next) => {
    c.set('requestId', `req_01${randomBase62()}`);
    if (options.recordRequests !== false) {
      const text = c.req.method === 'GET' || c.req.method === 'HEAD' ? '' : await c.req.text();
      const record: RecordedRequest = {
        method: c.req.method,
        path: new URL(c.req.url).pathname,
        headers: Object.fromEntries(c.req.raw.headers),
        body: parseBody(text),
      };
      requests.push(record);
      c.set('record', record);
    }
    await next();
  });
  app.get('/health', (c) => c.json({ status: 'ok' }, 200, { 'request-id': c.get('requestId') }));
  app.post('/v1/messages', async (c) =>
    createMessage(c.req.raw, await c.req.text(), c.get('requestId'), c.get('record')),
  );
  app.post('/v1/messages/count_tokens', async (c) => {
    const denied = authorized(c.req.raw.headers, options.apiKey);
    if (denied) throw denied;
    const body = jsonBody(await c.req.text());
    const inputTokens = await countTokens(body, c.req.raw.headers, new URL(c.req.url));
    return c.json({ input_tokens: inputTokens }, 200, { 'request-id': c.get('requestId') });
  });
  app.notFound((c) =>
    errorResponse(
      new SimError('not_found_error', `Not found: ${c.req.method} ${new URL(c.req.url).pathname}`),
      c.get('requestId'),
    ),
  );
  app.onError((err, c) => {
    const requestId = c.get('requestId') ?? `req_01${randomBase62()}`;
    if (err instanceof SimError) return errorResponse(err, requestId);
    return errorResponse(
      new SimError('api_error', `Internal server error: ${String(err)}`),
      requestId,
    );
  });

  return { fetch: async (req: Request) => app.fetch(req), requests, options };
}
