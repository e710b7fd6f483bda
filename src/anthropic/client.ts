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

/**
 * When the upstream last sent a byte. The SDK hides `ping` events, so the idle watchdog
 * watches bytes instead: pings count as life, true silence does not.
 */
export interface UpstreamActivity {
  lastByteAt: number;
}

export function createMessagesClient(env: Env, activity?: UpstreamActivity): Messages {
  const client = new BaseAnthropic({
    apiKey: env.ANTHROPIC_API_KEY || 'missing-upstream-key',
    baseURL: env.ANTHROPIC_BASE_URL || 'https://api.anthropic.com',
    fetch: (input, init) => upstreamFetch(input, init, activity),
    // Retries happen only before the response starts, i.e. before any upstream byte
    // reaches our client.
    maxRetries: 2,
    logLevel: 'off',
    openTelemetry: false,
  });
  return new Messages(client);
}

async function upstreamFetch(
  input: RequestInfo | URL,
  init: RequestInit | undefined,
  activity: UpstreamActivity | undefined,
): Promise<Response> {
  const response = await fetch(input, init);
  if (activity) activity.lastByteAt = Date.now();
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
  if (!activity || !response.ok || !response.body) return response;
  let watcher!: TransformStreamDefaultController<Uint8Array>;
  const watched = response.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      start(controller) {
        watcher = controller;
      },
      transform(chunk, controller) {
        activity.lastByteAt = Date.now();
        controller.enqueue(chunk);
      },
    }),
  );
  // An abort (the idle watchdog) must end the read even if the connection below ignores
  // the signal: error our side of the stream so the SDK's iteration throws at once.
  init?.signal?.addEventListener(
    'abort',
    () => watcher.error(init.signal?.reason ?? new Error('aborted')),
    {
      once: true,
    },
  );
  return new Response(watched, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
}

function retryableRateLimit(response: Response): boolean {
  const retryAfter = Number(response.headers.get('retry-after'));
  return Number.isFinite(retryAfter) && retryAfter > 0 && retryAfter <= MAX_RETRY_AFTER_SECONDS;
}
