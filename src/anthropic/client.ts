/**
 * The upstream client, built per request: the SDK captures `fetch` and reads
 * `process.env` at construction, so a module-scope client would escape test interceptors
 * and could pick up a key nobody passed. `BaseAnthropic` + `Messages` keeps every other API
 * resource out of the bundle (about half the size of the full `Anthropic` class).
 */
import { BaseAnthropic } from '@anthropic-ai/sdk/client';
import { Messages } from '@anthropic-ai/sdk/resources/messages';

/** A 429 is retried only when the upstream says it clears soon; one without `retry-after` may be a spend cap. */
const MAX_RETRY_AFTER_SECONDS = 5;

export function createMessagesClient(env: Env): Messages {
  const client = new BaseAnthropic({
    apiKey: env.ANTHROPIC_API_KEY || 'missing-upstream-key',
    baseURL: env.ANTHROPIC_BASE_URL || 'https://api.anthropic.com',
    fetch: retryAwareFetch,
    // Retries happen only before the response starts, i.e. before any upstream byte
    // reaches our client.
    maxRetries: 2,
    logLevel: 'off',
    openTelemetry: false,
  });
  return new Messages(client);
}

/** Marks a 429 that must not be retried, through the SDK's own `x-should-retry` switch. */
async function retryAwareFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
  const response = await fetch(input, init);
  if (response.status !== 429) return response;
  const retryAfter = Number(response.headers.get('retry-after'));
  if (Number.isFinite(retryAfter) && retryAfter > 0 && retryAfter <= MAX_RETRY_AFTER_SECONDS) {
    return response;
  }
  const headers = new Headers(response.headers);
  headers.set('x-should-retry', 'false');
  return new Response(response.body, {
    status: response.status,
    statusText: response.statusText,
    headers,
  });
}
