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
    fetch: upstreamFetch,
    // Retries happen only before the response starts, i.e. before any upstream byte
    // reaches our client.
    maxRetries: 2,
    logLevel: 'off',
    openTelemetry: false,
  });
  return new Messages(client);
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
