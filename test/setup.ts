/**
 * Runs before every test file, in the same isolate as the Worker: routes the Worker's
 * outbound fetches to the simulator (and job callbacks to the test receiver) and fails
 * loudly on anything else, so no test can reach the real network.
 */
import { RECEIVER_HOST, receiver } from './helpers/receiver';
import { UPSTREAM_HOST, upstream } from './helpers/upstream';

const guardedFetch: typeof fetch = async (input, init) => {
  const request = new Request(input, init);
  const { host } = new URL(request.url);
  if (host === UPSTREAM_HOST) return abortable(request, await upstream.fetch(request));
  if (host === RECEIVER_HOST) return receiver.fetch(request);
  throw new Error(`Unexpected outbound request in a test: ${request.method} ${request.url}`);
};
globalThis.fetch = guardedFetch;

/**
 * As a real fetch does: aborting the request's signal drops its response body, so the
 * simulator sees the call cancelled (a body someone is reading is cancelled by its reader).
 */
function abortable(request: Request, response: Response): Response {
  const drop = () => response.body?.cancel().catch(() => {});
  if (request.signal.aborted) drop();
  else request.signal.addEventListener('abort', drop, { once: true });
  return response;
}

// The Worker's one-line-per-request log would drown the test report; tests that check it
// spy on console.log themselves.
import { vi } from 'vitest';
vi.spyOn(console, 'log').mockImplementation(() => {});
