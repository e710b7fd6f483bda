import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostPage } from '../../scripts/embed-page';
import { startCuttingProxy, type CuttingProxy } from './cutting-proxy';
import {
  HOST,
  ask,
  browserSession,
  edge,
  publishableKey,
  settled,
  startHost,
  transcriptTexts,
  type HostServer,
} from './harness';
import { HOST_PORT, PROXY_PORT } from './ports';

/** Long enough, and slow enough, that the cut comes well before the end. */
const LONG = '[cut] [sim:words=150] [sim:text_delay_ms=15]';

describe('the chat box when its stream drops', () => {
  let proxy: CuttingProxy;
  let host: HostServer;
  const pages = browserSession([edge, `http://127.0.0.1:${PROXY_PORT}`]);
  beforeAll(() => {
    proxy = startCuttingProxy(PROXY_PORT, edge);
    host = startHost(HOST_PORT);
  });
  afterAll(async () => {
    await proxy.close();
    await host.close();
  });

  async function pageBehindProxy(path: string) {
    const key = await publishableKey();
    host.pages.set(path, hostPage({ src: `${proxy.url}/embed.js`, key }));
    const page = await pages.open(`${HOST}${path}`, [key]);
    const reattaches: string[] = [];
    page.on('request', (r) => {
      if (r.url().includes('/events') && r.method() === 'GET') {
        reattaches.push(`${r.url()} after ${r.headers()['last-event-id']}`);
      }
    });
    return { key, page, reattaches };
  }

  it('reattaches after the last event it had and shows the whole answer, once', async () => {
    proxy.refuseEvents = false;
    const cutsBefore = proxy.cuts;
    const { key, page, reattaches } = await pageBehindProxy('/reattach');
    await ask(page, `Tell me a long story ${LONG}`);
    const state = await settled(page);
    expect(proxy.cuts).toBe(cutsBefore + 1);
    expect(reattaches).toEqual([
      expect.stringMatching(/\/v1\/conversations\/c_[A-Za-z0-9]+\/events after 1:\d+$/),
    ]);
    expect(state.alerts).toEqual([]);
    const transcript = await transcriptTexts(key, state.conversation!);
    expect(transcript.messages[1]!.text.split(' ')).toHaveLength(150);
    expect(state.answers).toEqual([{ text: transcript.messages[1]!.text, waiting: false }]);
  });

  it('keeps the text it had and says so when the answer cannot be picked up again', async () => {
    proxy.refuseEvents = true;
    try {
      const { page, reattaches } = await pageBehindProxy('/lost');
      await ask(page, `Another long story ${LONG}`);
      const state = await settled(page, 20_000);
      expect(reattaches.length).toBeGreaterThanOrEqual(4);
      expect(state.alerts).toEqual([
        'The connection dropped and the answer could not be picked up again.',
      ]);
      expect(state.answers).toHaveLength(1);
      expect(state.answers[0]!.text.length).toBeGreaterThan(0);
    } finally {
      proxy.refuseEvents = false;
    }
  });
});
