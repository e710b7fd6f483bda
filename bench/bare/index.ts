/**
 * A bare pass-through Worker: `POST /v1/messages` goes to `${UPSTREAM_URL}/v1/messages`
 * with its method, headers and body unchanged, and the upstream's response (status, headers,
 * body) is streamed straight back. Nothing else. The floor against which thinking-edge's own
 * latency and CPU are measured (`npm run bench`).
 */
interface BareEnv {
  /** Origin of the Messages API (the simulator, in the benchmark), without a trailing slash. */
  UPSTREAM_URL: string;
}

export default {
  fetch(request: Request, env: BareEnv): Promise<Response> | Response {
    const { pathname, search } = new URL(request.url);
    if (request.method !== 'POST' || pathname !== '/v1/messages') {
      return new Response('not found', { status: 404 });
    }
    return fetch(new Request(`${env.UPSTREAM_URL}${pathname}${search}`, request));
  },
};
