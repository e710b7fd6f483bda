import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostPage } from '../../scripts/embed-page';
import {
  HOST,
  ask,
  browserSession,
  edge,
  fromPage,
  mintKey,
  settled,
  startHost,
  transcriptTexts,
  type HostServer,
} from './harness';
import { HOST_PORT } from './ports';

const NEEDS_SESSIONS = 'needs POST /v1/embed/sessions (issue 13, item 2)';

describe('the chat box with an embed session token (es_)', () => {
  const pages = browserSession();
  let host: HostServer;
  let secretKey: string;
  /** Whether the edge under test mints tokens: these tests run from the day it does. */
  let sessionsLanded = false;
  beforeAll(async () => {
    host = startHost(HOST_PORT);
    secretKey = (await mintKey({ kind: 'secret', limits: { requests_per_minute: 1000 } })).key;
    const probe = await fetch(`${edge}/v1/embed/sessions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secretKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ origin: HOST, ttl_seconds: 60 }),
    });
    sessionsLanded = probe.status !== 404;
  });
  afterAll(() => host.close());

  /** What the site's backend does: mint a token for this page's origin with its secret key. */
  async function mintToken(ttlSeconds: number) {
    const res = await fetch(`${edge}/v1/embed/sessions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secretKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ origin: HOST, ttl_seconds: ttlSeconds, user: 'visitor-1' }),
    });
    if (res.status !== 201) throw new Error(`minting a token: ${res.status} ${await res.text()}`);
    return (await res.json()) as { token: string; expires_at: string };
  }

  /**
   * A page whose site renews tokens at /token (each `ttlSeconds` long), and everything the
   * test wants to see: the tokens handed out (never to appear in a URL) and the turns the page
   * sent (a 401 without CORS headers is hidden from the page, so count requests, not 401s).
   */
  async function tokenPage(path: string, ttlSeconds: number, withExpiry: boolean) {
    const first = await mintToken(ttlSeconds);
    const tokens = [first.token];
    host.routes.set(`${path}/token`, async (request) => {
      if (request.method !== 'POST') return new Response(null, { status: 405 });
      const fresh = await mintToken(ttlSeconds);
      tokens.push(fresh.token);
      return Response.json(fresh);
    });
    host.pages.set(
      path,
      hostPage({
        src: `${edge}/embed.js`,
        token: first.token,
        tokenUrl: `${path}/token`,
        expiresAt: withExpiry ? first.expires_at : undefined,
      }),
    );
    const page = await pages.open(`${HOST}${path}`, tokens);
    const turnsSent: string[] = [];
    page.on('request', (r) => {
      if (r.method() === 'POST' && r.url() === `${edge}/v1/chat`) turnsSent.push(r.url());
    });
    return { page, tokens, turnsSent };
  }

  const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

  it('renews a token the edge refused as expired through data-token-url, and the conversation goes on', async (ctx) => {
    ctx.skip(!sessionsLanded, NEEDS_SESSIONS);
    // No data-expires-at: the box learns of the expiry from the edge's 401.
    const { page, tokens, turnsSent } = await tokenPage('/expires', 3, false);
    await ask(page, 'Before it expires');
    const first = await settled(page);
    expect(first.alerts).toEqual([]);
    await sleep(4000);
    await ask(page, 'After it expired');
    const second = await settled(page);
    expect(second.alerts).toEqual([]);
    // Three turns sent: the first question, the second with the expired token, and again.
    expect(turnsSent).toHaveLength(3);
    expect(tokens).toHaveLength(2);
    expect(second.conversation).toBe(first.conversation);
    const transcript = await transcriptTexts(tokens[1]!, second.conversation!);
    expect(transcript.turns).toBe(2);
  });

  it('renews a token shortly before its expires_at, without a refused request', async (ctx) => {
    ctx.skip(!sessionsLanded, NEEDS_SESSIONS);
    const { page, tokens, turnsSent } = await tokenPage('/renews', 3, true);
    await sleep(2500); // into the token's last third
    await ask(page, 'A question');
    expect((await settled(page)).alerts).toEqual([]);
    expect(tokens).toHaveLength(2);
    expect(turnsSent).toHaveLength(1);
  });

  it('treats a token as bound to its origin, like a publishable key', async (ctx) => {
    ctx.skip(!sessionsLanded, NEEDS_SESSIONS);
    const { token } = await mintToken(60);
    expect((await fromPage(token, '/v1/usage', {}, 'http://localhost:1')).status).toBe(403);
    expect((await fromPage(token, '/v1/usage')).status).toBe(200);
  });

  it('says the session has ended when the site cannot renew the token', async () => {
    // Runs today: a token the edge does not know is refused with 401 like an expired one.
    const expired = `es_${'x'.repeat(32)}`;
    host.routes.set('/broken/token', () => new Response('down', { status: 500 }));
    host.pages.set(
      '/broken',
      hostPage({ src: `${edge}/embed.js`, token: expired, tokenUrl: '/broken/token' }),
    );
    const page: Page = await pages.open(`${HOST}/broken`, [expired]);
    await ask(page, 'Anyone there?');
    const state = await settled(page);
    expect(state.alerts).toEqual([
      'Your chat session has ended and could not be renewed. Reload the page to go on.',
    ]);
    expect(state.answers).toEqual([]);
  });
});
