import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { percentile } from '../../bench/stats';
import { hostPage } from '../../scripts/embed-page';
import {
  HOST,
  ask,
  browserSession,
  edge,
  publishableKey,
  settled,
  startHost,
  type HostServer,
} from './harness';
import { HOST_PORT } from './ports';

const TURNS = Number(process.env.EMBED_LATENCY_TURNS ?? 20);

interface Marks {
  /** performance.now() of the Enter keydown. */
  enter: number;
  /** When the page's fetch stream delivered the chunk holding the first `text` event. */
  wire?: number;
  /** When the first answer text was in the box's DOM (its MutationObserver callback). */
  shown?: number;
  /** After the frame that first showed answer text (rAF, then a task: the frame was produced). */
  paint?: number;
  /** Which answer bubble is this turn's. */
  index: number;
}

/**
 * Runs in the page before the box's script: timestamps the Enter keydown, the first `text`
 * event in `POST /v1/chat`'s body as the page's fetch reads it (a tee of the body the box
 * reads), and the first paint of answer text in the box (a MutationObserver on its shadow root).
 */
function instrument() {
  const turns: Marks[] = [];
  (window as unknown as { __turns: Marks[] }).__turns = turns;
  let observed = false;
  addEventListener(
    'keydown',
    (e) => {
      if (e.key !== 'Enter' || e.shiftKey) return;
      const root = document.querySelector('thinking-edge-chat')!.shadowRoot!;
      turns.push({ enter: performance.now(), index: root.querySelectorAll('.a').length });
      if (observed) return;
      observed = true;
      new MutationObserver(() => {
        const turn = turns.at(-1);
        if (!turn || turn.paint !== undefined) return;
        const answer = root.querySelectorAll('.a')[turn.index];
        if (!answer || answer.classList.contains('wait') || !answer.textContent) return;
        turn.shown = performance.now();
        turn.paint = -1; // the frame's time follows
        requestAnimationFrame(() => setTimeout(() => (turn.paint = performance.now())));
      }).observe(root, { childList: true, subtree: true, characterData: true });
    },
    true,
  );
  const original = window.fetch;
  window.fetch = async (input, init) => {
    const res = await original(input, init);
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const turn = turns.at(-1);
    if (!url.endsWith('/v1/chat') || !res.body || !turn) return res;
    const [mine, theirs] = res.body.tee();
    void (async () => {
      const reader = mine.getReader();
      const decoder = new TextDecoder();
      let tail = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        if (turn.wire !== undefined) continue;
        const seen = tail + decoder.decode(value, { stream: true });
        if (seen.includes('event: text\n')) turn.wire = performance.now();
        tail = seen.slice(-16);
      }
    })();
    return new Response(theirs, { status: res.status, headers: res.headers });
  };
}

describe('the chat box, timed in Chromium against wrangler dev and the simulator', () => {
  const pages = browserSession();
  let host: HostServer;
  beforeAll(() => {
    host = startHost(HOST_PORT);
  });
  afterAll(() => host.close());

  it(`paints the first answer text soon after the first text event arrives (${TURNS} turns)`, async () => {
    const key = await publishableKey({ requests_per_minute: 10_000 });
    host.pages.set('/timed', hostPage({ src: `${edge}/embed.js`, key }));
    const page: Page = await pages.open(`${HOST}/timed`, [key], instrument);
    // One turn first, so that the conversation's object and the isolate are warm.
    await ask(page, 'Warm up');
    await settled(page);
    for (let i = 0; i < TURNS; i++) {
      await ask(page, `Question ${i + 1}: why is the sky blue?`);
      await settled(page);
      await page.waitForFunction(() => {
        const turn = (window as unknown as { __turns: Marks[] }).__turns.at(-1);
        return turn?.paint !== undefined && turn.paint > 0;
      });
    }
    const marks = (
      await page.evaluate(() => (window as unknown as { __turns: Marks[] }).__turns)
    ).slice(1);
    expect(marks).toHaveLength(TURNS);
    const wire = marks.map((m) => m.wire! - m.enter);
    const paint = marks.map((m) => m.paint! - m.enter);
    const box = marks.map((m) => m.shown! - m.wire!);
    const frame = marks.map((m) => m.paint! - m.shown!);
    for (const m of marks)
      expect(m.enter <= m.wire! && m.wire! <= m.shown! && m.shown! <= m.paint!).toBe(true);
    const row = (name: string, xs: number[]) =>
      `  ${name.padEnd(46)} p50 ${percentile(xs, 50).toFixed(1).padStart(6)} ms   p90 ${percentile(xs, 90).toFixed(1).padStart(6)} ms`;
    console.log(
      [
        `Chat box in Chromium ${page.context().browser()?.version()}, ${TURNS} turns, from pressing Enter:`,
        row('first text event read from the wire', wire),
        row('first answer text painted', paint),
        row('  of which: read → text in the DOM (the box)', box),
        row('  of which: in the DOM → painted (next frame)', frame),
      ].join('\n'),
    );
  });
});
