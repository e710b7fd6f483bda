/**
 * The Messages API as a client of the SDKs sees it, passed through (`POST /v1/messages`,
 * `…/count_tokens`): the client's body and its `anthropic-version` / `anthropic-beta` go
 * upstream with the operator's key (never the client's), and the answer comes back as it
 * is — status, body bytes, `retry-after` — so an official SDK behaves exactly as against the
 * API. No retries here: the client's SDK retries by its own policy, and retrying twice over
 * would multiply the calls.
 */

const DEFAULT_VERSION = '2023-06-01';
/** Upstream answer headers a client needs; the rest (the operator's org limits, cookies) stay here. */
const ANSWER_HEADERS = ['content-type', 'retry-after', 'x-should-retry', 'cache-control'];

export async function forward(
  env: Env,
  path: '/v1/messages' | '/v1/messages/count_tokens',
  body: string,
  client: Headers,
  signal?: AbortSignal,
): Promise<Response> {
  const base = (env.ANTHROPIC_BASE_URL || 'https://api.anthropic.com').replace(/\/$/, '');
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-api-key': env.ANTHROPIC_API_KEY || 'missing-upstream-key',
    'anthropic-version': client.get('anthropic-version') ?? DEFAULT_VERSION,
  };
  const beta = client.get('anthropic-beta');
  if (beta) headers['anthropic-beta'] = beta;
  const accept = client.get('accept');
  if (accept) headers.accept = accept;
  const upstream = await fetch(`${base}${path}`, {
    method: 'POST',
    headers,
    body,
    ...(signal ? { signal } : {}),
  });
  const answer = new Headers();
  for (const name of ANSWER_HEADERS) {
    const value = upstream.headers.get(name);
    if (value !== null) answer.set(name, value);
  }
  const upstreamId = upstream.headers.get('request-id');
  if (upstreamId) answer.set('upstream-request-id', upstreamId);
  return new Response(upstream.body, { status: upstream.status, headers: answer });
}
