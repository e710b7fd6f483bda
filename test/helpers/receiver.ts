/**
 * A webhook receiver for the job tests, at https://hooks.example.com (routed here by
 * test/setup.ts): it records every request it gets, and answers with what the test queued
 * for its path (200 when nothing is queued).
 */
export const RECEIVER_HOST = 'hooks.example.com';

export interface Received {
  path: string;
  headers: Record<string, string>;
  body: string;
}

const received: Received[] = [];
const answers = new Map<string, Array<() => Response>>();

export const receiver = {
  async fetch(request: Request): Promise<Response> {
    const { pathname } = new URL(request.url);
    received.push({
      path: pathname,
      headers: Object.fromEntries(request.headers),
      body: await request.text(),
    });
    return answers.get(pathname)?.shift()?.() ?? new Response('ok');
  },
  /** The URL of a fresh path, and what it will answer, in order (then 200s). */
  endpoint(answersInOrder: Array<() => Response> = []): string {
    const path = `/hook/${crypto.randomUUID()}`;
    answers.set(path, [...answersInOrder]);
    return `https://${RECEIVER_HOST}${path}`;
  },
  /** What the endpoint at `url` received so far. */
  at(url: string): Received[] {
    const { pathname } = new URL(url);
    return received.filter((r) => r.path === pathname);
  },
};
