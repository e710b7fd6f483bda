import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostPage } from '../../scripts/embed-page';
import {
  HOST,
  ask,
  boxState,
  browserSession,
  edge,
  publishableKey,
  settled,
  startHost,
  streamingText,
  transcriptTexts,
  type HostServer,
} from './harness';
import { HOST_PORT } from './ports';

/** Slow enough (200 words, 10 ms a delta) to look at the screen while the answer streams. */
const SLOW = '[sim:words=200] [sim:text_delay_ms=10]';

describe('the chat box on a page of an allowed origin', () => {
  const pages = browserSession();
  let host: HostServer;
  beforeAll(() => {
    host = startHost(HOST_PORT);
  });
  afterAll(() => host.close());

  async function pageWithBox(path: string, title?: string) {
    const key = await publishableKey();
    host.pages.set(path, hostPage({ src: `${edge}/embed.js`, key, title }));
    return { key, page: await pages.open(`${HOST}${path}`, [key]) };
  }

  it('is labelled, and usable from the keyboard alone: Tab to the question, type, Enter', async () => {
    const { page } = await pageWithBox('/keyboard', 'Ask the docs');
    await expect(page.getByRole('region', { name: 'Ask the docs' }).count()).resolves.toBe(1);
    await expect(page.getByRole('log', { name: 'Ask the docs' }).count()).resolves.toBe(1);
    await expect(page.getByRole('button', { name: 'Send' }).count()).resolves.toBe(1);
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(() => {
      const inner = document.activeElement?.shadowRoot?.activeElement;
      return inner ? `${inner.tagName} ${inner.getAttribute('id')}` : null;
    });
    expect(focused).toBe('TEXTAREA q');
    await page.keyboard.type('What is a tide?');
    await page.keyboard.press('Enter');
    const state = await settled(page);
    expect(state.questions).toEqual(['What is a tide?']);
    expect(state.answers).toEqual([
      { text: expect.stringContaining('What is a tide?'), waiting: false },
    ]);
  });

  it('streams two answers, each on screen before its turn ends, the second in the same conversation', async () => {
    const { key, page } = await pageWithBox('/two-questions');

    await ask(page, `How do tides work? ${SLOW}`);
    const partial1 = await streamingText(page, 0);
    const first = await settled(page);
    expect(first.answers[0]!.text.length).toBeGreaterThan(partial1);
    const conversation = first.conversation;
    expect(conversation).toMatch(/^c_/);

    await ask(page, `And what about the moon? ${SLOW}`);
    const partial2 = await streamingText(page, 1);
    const second = await settled(page);
    expect(second.answers[1]!.text.length).toBeGreaterThan(partial2);
    expect(second.conversation).toBe(conversation);
    expect(second.alerts).toEqual([]);

    // What the page shows is what the edge stored, turn for turn.
    const transcript = await transcriptTexts(key, conversation!);
    expect(transcript.turns).toBe(2);
    expect(transcript.messages).toEqual([
      { role: 'user', text: `How do tides work? ${SLOW}` },
      { role: 'assistant', text: second.answers[0]!.text },
      { role: 'user', text: `And what about the moon? ${SLOW}` },
      { role: 'assistant', text: second.answers[1]!.text },
    ]);
  });

  it('shows "thinking…" while Claude thinks, from the status events, then the answer', async () => {
    const { page } = await pageWithBox('/thinking');
    await ask(page, 'Think it over first. [sim:think_ms=1500]');
    await page.getByRole('status').filter({ hasText: 'Thinking…' }).waitFor({ timeout: 5000 });
    const during = await boxState(page);
    expect(during.busy).toBe(true);
    expect(during.answers).toEqual([{ text: 'thinking…', waiting: true }]);
    const after = await settled(page);
    expect(after.status).toBe('');
    expect(after.answers[0]!.text).toContain('Think it over first.');
  });

  it('keeps the conversation across a reload: shows it again and continues it', async () => {
    const { key, page } = await pageWithBox('/reload');
    await ask(page, 'First question');
    const before = await settled(page);
    await page.reload();
    await page.waitForFunction(
      () => document.querySelector('thinking-edge-chat')?.shadowRoot?.querySelector('.a') !== null,
    );
    const restored = await boxState(page);
    expect(restored.questions).toEqual(['First question']);
    expect(restored.answers).toEqual(before.answers);
    expect(restored.conversation).toBe(before.conversation);
    await ask(page, 'Second question');
    const after = await settled(page);
    expect(after.conversation).toBe(before.conversation);
    expect((await transcriptTexts(key, after.conversation!)).turns).toBe(2);
  });

  it('renders an answer as text, never as HTML', async () => {
    const { page } = await pageWithBox('/html');
    // The simulator's answer repeats the question.
    const question = '<img src=x onerror="window.pwned=1"><b>bold</b>';
    await ask(page, question);
    const state = await settled(page);
    expect(state.answers[0]!.text).toContain(question);
    const elements = await page.evaluate(() => {
      const root = document.querySelector('thinking-edge-chat')!.shadowRoot!;
      return root.querySelectorAll('img, b').length;
    });
    expect(elements).toBe(0);
    expect(await page.evaluate(() => (window as { pwned?: number }).pwned)).toBeUndefined();
  });

  it('looks like docs/widget.png', async () => {
    const { page } = await pageWithBox('/screenshot', 'Ask thinking-edge');
    await ask(page, 'Why is the sky blue?');
    await settled(page);
    await ask(page, 'And why is it red at sunset?');
    await settled(page);
    await page.getByRole('textbox', { name: 'Your question' }).blur();
    const docs = resolve(import.meta.dirname, '../../docs');
    mkdirSync(docs, { recursive: true });
    const box = (await page.locator('thinking-edge-chat .box').boundingBox())!;
    const margin = 12;
    await page.screenshot({
      path: resolve(docs, 'widget.png'),
      clip: {
        x: box.x - margin,
        y: box.y - margin,
        width: box.width + 2 * margin,
        height: box.height + 2 * margin,
      },
    });
  });
});
