/** Calls the Worker the way a client does: through its own fetch handler, with real local KV. */
import { env } from 'cloudflare:test';
import { exports } from 'cloudflare:workers';

export const ADMIN_TOKEN = 'test-admin-token';
const BASE = 'https://edge.test';

export function call(path: string, init: RequestInit & { json?: unknown } = {}): Promise<Response> {
  const { json, ...rest } = init;
  const headers = new Headers(rest.headers);
  if (json !== undefined) headers.set('content-type', 'application/json');
  return exports.default.fetch(
    new Request(`${BASE}${path}`, {
      ...rest,
      headers,
      body: json !== undefined ? JSON.stringify(json) : rest.body,
    }),
  );
}

export async function createKey(body: Record<string, unknown> = {}) {
  const res = await call('/admin/keys', {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    json: { name: 'test', kind: 'secret', ...body },
  });
  if (res.status !== 201) throw new Error(`key creation failed: ${res.status} ${await res.text()}`);
  return (await res.json()) as { id: string; key: string; webhook_secret?: string };
}

export function chat(
  key: string,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
) {
  return call('/v1/chat', {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, ...headers },
    json: body,
  });
}

/** Asserts the contract's error shape and returns the error. */
/** The JSON body of a 200; anything else fails the test with the body it got. */
export async function okJson(res: Response): Promise<any> {
  const body = (await res.json()) as any;
  if (res.status !== 200) throw new Error(`${res.status} ${JSON.stringify(body)}`);
  return body;
}

export async function expectError(res: Response, status: number, type: string) {
  const body = (await res.json()) as any;
  if (res.status !== status || body?.type !== 'error' || body?.error?.type !== type) {
    throw new Error(`expected ${status} ${type}, got ${res.status} ${JSON.stringify(body)}`);
  }
  if (typeof body.error.message !== 'string' || body.error.message.length < 10)
    throw new Error('error message missing');
  if (typeof body.request_id !== 'string' || body.request_id !== res.headers.get('request-id')) {
    throw new Error('request_id missing or not the request-id header');
  }
  return body.error as { type: string; message: string };
}

export const auth = (key: string) => ({ authorization: `Bearer ${key}` });

/** The key's turns in flight, as `GET /v1/usage` reports them (the call counts as a request). */
export async function openStreams(key: string): Promise<number> {
  return ((await (await call('/v1/usage', { headers: auth(key) })).json()) as any).used
    .open_streams;
}

/** A key's stored record, as the queue consumers read it (by id). */
export async function keyRecord(id: string) {
  const hash = await env.KEYS.get(`keyid:${id}`);
  return (await env.KEYS.get(`key:${hash}`, 'json')) as any;
}
