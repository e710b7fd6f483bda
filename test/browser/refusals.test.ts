import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostPage } from '../../scripts/embed-page';
import {
  HOST,
  OTHER,
  ask,
  boxState,
  browserSession,
  edge,
  fromPage,
  publishableKey,
  settled,
  startHost,
  type HostServer,
} from './harness';
import { HOST_PORT, OTHER_PORT } from './ports';

describe('the chat box refused', () => {
  const pages = browserSession();
  let host: HostServer;
  let other: HostServer;
  beforeAll(() => {
    host = startHost(HOST_PORT);
    other = startHost(OTHER_PORT);
  });
  afterAll(async () => {
    await host.close();
    await other.close();
  });

  it('says in words that a page of an origin the key does not allow may not use it', async () => {
    const key = await publishableKey();
    const page = hostPage({ src: `${edge}/embed.js`, key });
    host.pages.set('/allowed', page);
    other.pages.set('/copied', page);

    const copied = await pages.open(`${OTHER}/copied`, [key]);
    // The browser hides the edge's 403 from the page (no CORS headers on it): the request fails.
    const failed: string[] = [];
    copied.on('requestfailed', (r) => failed.push(`${r.method()} ${r.url()}`));
    await ask(copied, 'Can I use this key here?');
    const state = await settled(copied);
    expect(state.alerts).toEqual([
      'The chat service refused this page: this site is not allowed to use this chat box.',
    ]);
    expect(state.answers).toEqual([]);
    expect(state.conversation).toBeNull();
    expect(failed).toContain(`POST ${edge}/v1/chat`);
    // What the edge answered that request: the key is not allowed from this origin.
    const refused = await fromPage(key, '/v1/usage', {}, OTHER);
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: { type: string } }).error.type).toBe(
      'permission_error',
    );

    // The same key, the same page, from the origin the key allows: answered.
    const allowed = await pages.open(`${HOST}/allowed`, [key]);
    await ask(allowed, 'And here?');
    expect((await settled(allowed)).answers).toEqual([
      { text: expect.stringContaining('And here?'), waiting: false },
    ]);
  });

  it('says how long to wait when the key’s rate limit refuses a question', async () => {
    const key = await publishableKey({ requests_per_minute: 1 });
    host.pages.set('/limited', hostPage({ src: `${edge}/embed.js`, key }));
    const page = await pages.open(`${HOST}/limited`, [key]);
    // One request a minute, in windows aligned to the clock's minutes: if a window ends
    // between two questions the second gets through, so ask until one is refused.
    let state = await boxState(page);
    for (let i = 1; i <= 3 && state.alerts.length === 0; i++) {
      await ask(page, `Question ${i}`);
      state = await settled(page);
    }
    expect(state.alerts).toHaveLength(1);
    const wait = /^Too many requests — try again in (\d+) s\.$/.exec(state.alerts[0]!);
    expect(wait, state.alerts[0]).not.toBeNull();
    expect(Number(wait![1])).toBeGreaterThan(0);
    expect(Number(wait![1])).toBeLessThanOrEqual(60);
    expect(state.answers).toHaveLength(state.questions.length - 1);
  });

  it('leaves the host page’s styles alone, and is left alone by them', async () => {
    const key = await publishableKey();
    const styles = `<style>
      * { letter-spacing: 3px; }
      p { color: rgb(0, 128, 0); }
      button { color: rgb(255, 0, 0) !important; font-family: serif; }
      textarea, label, h2 { display: none; }
    </style>`;
    const body = `<p id="host-p">The page's own paragraph.</p><button id="host-button">The page's button</button>`;
    const page = hostPage({ src: `${edge}/embed.js`, key, title: 'Styled' }, { head: styles });
    host.pages.set('/styled', page.replace('<body>', `<body>${body}`));
    host.pages.set(
      '/unstyled',
      page.replace('<body>', `<body>${body}`).replace(/<script.*<\/script>/, ''),
    );

    const look = (p: Page) =>
      p.evaluate(() => {
        const css = (el: Element | null | undefined) => {
          const s = getComputedStyle(el!);
          return {
            color: s.color,
            font: s.fontFamily,
            spacing: s.letterSpacing,
            display: s.display,
          };
        };
        const root = document.querySelector('thinking-edge-chat')?.shadowRoot;
        return {
          hostP: css(document.getElementById('host-p')),
          hostButton: css(document.getElementById('host-button')),
          hostH1: css(document.querySelector('h1')),
          boxButton: root ? css(root.querySelector('button')) : null,
          boxTextarea: root ? css(root.querySelector('textarea')) : null,
          boxTitle: root ? css(root.querySelector('h2')) : null,
        };
      });
    const unstyledPage = await pages.open(`${HOST}/unstyled`);
    const without = await look(unstyledPage);
    const styledPage = await pages.open(`${HOST}/styled`, [key]);
    const withBox = await look(styledPage);

    // The page's elements look the same with the box as without it.
    expect(withBox.hostP).toEqual(without.hostP);
    expect(withBox.hostButton).toEqual(without.hostButton);
    expect(withBox.hostH1).toEqual(without.hostH1);
    expect(withBox.hostButton.color).toBe('rgb(255, 0, 0)');
    // The page's rules do not reach into the box, not even through inheritance.
    expect(withBox.boxButton).toMatchObject({
      color: 'rgb(255, 255, 255)',
      spacing: 'normal',
    });
    expect(withBox.boxButton!.font).not.toBe('serif');
    expect(withBox.boxTextarea!.display).not.toBe('none');
    expect(withBox.boxTitle!.display).toBe('block');
    // And it still works.
    await ask(styledPage, 'Still fine?');
    expect((await settled(styledPage)).answers).toHaveLength(1);
  });
});
