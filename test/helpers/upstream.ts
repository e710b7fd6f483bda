/**
 * The one upstream the tests may reach: the in-repo Messages API simulator, served at
 * ANTHROPIC_BASE_URL (http://simulator.test, see vitest.config.ts). `upstream.requests`
 * is what the Worker sent Claude, so tests can check it (and count the calls).
 */
import { createSimulator } from '../../simulator';

export const UPSTREAM_HOST = 'simulator.test';
export const UPSTREAM_KEY = 'sk-ant-test-upstream-secret';

export const upstream = createSimulator({ apiKey: UPSTREAM_KEY, pingIntervalMs: 100 });

/** Requests to /v1/messages since `from` (an index into upstream.requests). */
export function messagesCallsSince(from: number) {
  return upstream.requests.slice(from).filter((r) => r.path === '/v1/messages');
}
