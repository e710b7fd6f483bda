/**
 * The upstream client, built per request: the SDK captures `fetch` and reads
 * `process.env` at construction, so a module-scope client would escape test interceptors
 * and could pick up a key nobody passed. `BaseAnthropic` alone, without the `Messages`
 * resource (its `stream()` helper, batches, partial-JSON parser) or any other, keeps the
 * bundle small: the edge only ever posts a streamed request and reads the raw bytes itself.
 */
import { BaseAnthropic } from '@anthropic-ai/sdk/client';
import type { MessageCreateParamsStreaming } from '@anthropic-ai/sdk/resources/messages';

/** A 429 is retried only when the upstream says it clears soon; one without `retry-after` may be a spend cap. */
const MAX_RETRY_AFTER_SECONDS = 5;

/**
 * `POST /v1/messages` with `stream: true`, answered by the raw `Response`: the SDK builds,
 * sends and (before the first byte only) retries the request and turns an error status into
 * its typed error; the caller reads the body.
 */
export function postStreamingMessage(
  env: Env,
  body: MessageCreateParamsStreaming,
  options: { signal: AbortSignal; headers?: Record<string, string> },
): Promise<Response> {
  return upstreamClient(env)
    .post('/v1/messages', { body, stream: true, ...options })
    .asResponse();
}

function upstreamClient(env: Env): BaseAnthropic {
  return new BaseAnthropic({
    apiKey: env.ANTHROPIC_API_KEY || 'missing-upstream-key',
    baseURL: env.ANTHROPIC_BASE_URL || 'https://api.anthropic.com',
    fetch: upstreamFetch,
    // Retries happen only before the response starts, i.e. before any upstream byte
    // reaches our client.
    maxRetries: 2,
    logLevel: 'off',
    openTelemetry: false,
  });
}

async function upstreamFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
  const response = await fetch(input, init);
  if (response.status === 429 && !retryableRateLimit(response)) {
    // The SDK's own switch: this 429 must reach the client, not be retried.
    const headers = new Headers(response.headers);
    headers.set('x-should-retry', 'false');
    return new Response(response.body, {
      status: response.status,
      statusText: response.statusText,
      headers,
    });
  }
  return response;
}

function retryableRateLimit(response: Response): boolean {
  const retryAfter = Number(response.headers.get('retry-after'));
  return Number.isFinite(retryAfter) && retryAfter > 0 && retryAfter <= MAX_RETRY_AFTER_SECONDS;
}
