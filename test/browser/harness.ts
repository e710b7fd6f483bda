/**
 * The browser tests' tools: keys minted on the edge under test, host pages served from
 * loopback origins, and Chromium (Debian's `chromium`, driven by playwright-core) opening
 * them. Every page a test opens is watched: an uncaught error on it, a key or token in any URL
 * it requested, or thinking data in any answer it received or in its DOM fails the test.
 */
import { serve } from '@hono/node-server';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, expect, inject } from 'vitest';
import { ADMIN_TOKEN, HOST_PORT, OTHER_PORT } from './ports';

export const edge = inject('edge');
/** The origin the tests' publishable keys allow. */
export const HOST = `http://127.0.0.1:${HOST_PORT}`;
/** An origin no key allows. */
export const OTHER = `http://localhost:${OTHER_PORT}`;

/** What thinking data looks like on our wire; `status` events' `"phase":"thinking"` is not. */
const THINKING_DATA = /signature|redacted_thinking|thinking_delta|"type":\s*"thinking"/;

export async function mintKey(body: Record<string, unknown>): Promise<{ id: string; key: string }> {
  const res = await fetch(`${edge}/admin/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'browser test', ...body }),
  });
  if (res.status !== 201) throw new Error(`minting a key: ${res.status} ${await res.text()}`);
  return (await res.json()) as { id: string; key: string };
}

/** A publishable key allowed from HOST, with room for the turns of one test. */
export async function publishableKey(
  limits: Record<string, number> = { requests_per_minute: 1000 },
): Promise<string> {
  return (await mintKey({ kind: 'publishable', allowed_origins: [HOST], limits })).key;
}

/** Calls the edge from Node as a page of `origin` would (outside browsers any Origin can be sent). */
export function fromPage(key: string, path: string, init: RequestInit = {}, origin = HOST) {
  return fetch(`${edge}${path}`, {
    ...init,
    headers: { ...init.headers, origin, authorization: `Bearer ${key}` },
  });
}

export interface HostServer {
  /** HTML by path. */
  pages: Map<string, string>;
  /** Other routes of the site (a token URL), by path. */
  routes: Map<string, (request: Request) => Response | Promise<Response>>;
  close(): Promise<void>;
}

/** A host site on a loopback port: the pages and routes the test puts in it. */
export function startHost(port: number): HostServer {
  const pages = new Map<string, string>();
  const routes = new Map<string, (request: Request) => Response | Promise<Response>>();
  const server = serve({
    port,
    hostname: '127.0.0.1',
    fetch: (request) => {
      const path = new URL(request.url).pathname;
      const route = routes.get(path);
      if (route) return route(request);
      const page = pages.get(path);
      if (page === undefined) return new Response('no such page', { status: 404 });
      return new Response(page, { headers: { 'content-type': 'text/html; charset=utf-8' } });
    },
  });
  return {
    pages,
    routes,
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}

interface Watched {
  page: Page;
  errors: Error[];
  /** Every URL the page requested. */
  requests: string[];
  /** Every answer from the edge (or a proxy of it): status and body. */
  answers: Array<Promise<{ url: string; status: number; body: string } | null>>;
  secrets: string[];
}

/** Resolves to null after `ms`, so that an answer whose body never ends cannot hang a check. */
const within = <T>(promise: Promise<T>, ms: number) =>
  Promise.race([promise, new Promise<null>((done) => setTimeout(() => done(null), ms))]);

/**
 * Chromium for one test file, and the pages its tests open, each in a context of its own (so
 * its own sessionStorage). After each test every page is checked and closed.
 */
export function browserSession(edgeOrigins: string[] = [edge]) {
  let browser: Browser;
  const opened: Watched[] = [];
  beforeAll(async () => {
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      // Root in a container has no user namespace for Chromium's sandbox.
      args: ['--no-sandbox'],
    });
  });
  afterEach(async () => {
    try {
      for (const watched of opened) await check(watched);
    } finally {
      await Promise.all(opened.map((w) => w.page.context().close()));
      opened.length = 0;
    }
  });
  afterAll(async () => {
    await browser?.close();
  });

  return {
    /**
     * Opens `url` in a fresh context; `secrets` (keys, tokens) must never appear in a URL;
     * `init` runs in the page before its own scripts.
     */
    async open(
      url: string,
      secrets: string[] = [],
      init?: Parameters<Page['addInitScript']>[0],
    ): Promise<Page> {
      const context = await browser.newContext({ viewport: { width: 900, height: 800 } });
      const page = await context.newPage();
      if (init) await page.addInitScript(init);
      const watched: Watched = { page, errors: [], requests: [], answers: [], secrets };
      page.on('pageerror', (error) => watched.errors.push(error));
      page.on('request', (request) => watched.requests.push(request.url()));
      page.on('response', (response) => {
        if (!edgeOrigins.some((origin) => response.url().startsWith(origin))) return;
        watched.answers.push(
          within(
            response
              .text()
              .then((body) => ({ url: response.url(), status: response.status(), body }))
              .catch(() => null),
            15_000,
          ),
        );
      });
      opened.push(watched);
      await page.goto(url);
      return page;
    },
  };
}

async function check({ page, errors, requests, answers, secrets }: Watched) {
  expect(errors.map(String), 'uncaught errors on the page').toEqual([]);
  for (const url of requests) {
    for (const secret of secrets) expect(url, 'a key or token in a URL').not.toContain(secret);
  }
  for (const answer of await Promise.all(answers)) {
    if (answer) expect(answer.body, `thinking data in ${answer.url}`).not.toMatch(THINKING_DATA);
  }
  if (page.isClosed()) return;
  const seen = await page.evaluate(
    () =>
      document.documentElement.outerHTML +
      [...document.querySelectorAll('thinking-edge-chat')]
        .map((host) => host.shadowRoot?.innerHTML ?? '')
        .join('') +
      JSON.stringify({ ...sessionStorage }),
  );
  expect(seen, 'thinking data in the page').not.toMatch(THINKING_DATA);
}

/** What the chat box shows, read from its shadow root. */
export interface BoxState {
  busy: boolean;
  questions: string[];
  /** Answers being written or written; `waiting` while no text has come yet. */
  answers: Array<{ text: string; waiting: boolean }>;
  alerts: string[];
  status: string;
  conversation: string | null;
}

export function boxState(page: Page): Promise<BoxState> {
  return page.evaluate(() => {
    const root = document.querySelector('thinking-edge-chat')!.shadowRoot!;
    const all = (selector: string) => [...root.querySelectorAll<HTMLElement>(selector)];
    const stored = Object.entries(sessionStorage).find(([k]) => k.startsWith('thinking-edge:'));
    return {
      busy: root.querySelector('.log')!.getAttribute('aria-busy') === 'true',
      questions: all('.q').map((p) => p.textContent ?? ''),
      answers: all('.a').map((p) => ({
        text: p.textContent ?? '',
        waiting: p.classList.contains('wait'),
      })),
      alerts: all('[role=alert]').map((p) => p.textContent ?? ''),
      status: root.querySelector('[role=status]')!.textContent ?? '',
      conversation: stored?.[1] ?? null,
    };
  });
}

/** Types a question into the box and presses Enter. */
export async function ask(page: Page, question: string): Promise<void> {
  const input = page.getByRole('textbox', { name: 'Your question' });
  await input.fill(question);
  await input.press('Enter');
}

/** Waits until the box has no turn running. */
export async function settled(page: Page, timeout = 30_000): Promise<BoxState> {
  await page.waitForFunction(
    () =>
      document
        .querySelector('thinking-edge-chat')
        ?.shadowRoot?.querySelector('.log')
        ?.getAttribute('aria-busy') === 'false',
    undefined,
    { timeout },
  );
  return boxState(page);
}

/**
 * Waits until answer number `index` shows text while its turn still runs, and returns the
 * length of what is on screen at that moment.
 */
export async function streamingText(page: Page, index: number): Promise<number> {
  const handle = await page.waitForFunction(
    (i) => {
      const root = document.querySelector('thinking-edge-chat')!.shadowRoot!;
      const answer = root.querySelectorAll('.a')[i];
      const busy = root.querySelector('.log')!.getAttribute('aria-busy') === 'true';
      const text = answer && !answer.classList.contains('wait') ? answer.textContent : '';
      return busy && text ? text.length : false;
    },
    index,
    { polling: 'raf', timeout: 20_000 },
  );
  return (await handle.jsonValue()) as number;
}

/** The transcript's messages as plain text, read from Node with the page's origin. */
export async function transcriptTexts(key: string, conversation: string) {
  const res = await fromPage(key, `/v1/conversations/${conversation}`);
  if (res.status !== 200) throw new Error(`transcript: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as {
    turns: number;
    messages: Array<{ role: string; content: string | Array<{ type: string; text?: string }> }>;
  };
  return {
    turns: body.turns,
    messages: body.messages.map((m) => ({
      role: m.role,
      text:
        typeof m.content === 'string'
          ? m.content
          : m.content
              .filter((b) => b.type === 'text')
              .map((b) => b.text)
              .join(''),
    })),
  };
}
