import type { MessageParam } from '@anthropic-ai/sdk/resources/messages';
import { describe, expect, it } from 'vitest';
import { dropSpentBlocks, latestCompaction, upstreamHistory } from '../../src/anthropic/compaction';

const compaction = (summary: string | null) =>
  ({
    type: 'compaction',
    content: summary,
    encrypted_content: summary && `enc:${summary}`,
  }) as never;
const thinking = (sig: string) => ({ type: 'thinking', thinking: '', signature: sig }) as const;
const user = (text: string): MessageParam => ({ role: 'user', content: text });
const assistant = (...content: unknown[]): MessageParam =>
  ({ role: 'assistant', content }) as MessageParam;

describe('the history sent upstream after a compaction', () => {
  const before = [user('one'), assistant(thinking('s1'), { type: 'text', text: 'a1' })];

  it('is the whole history while nothing was compacted', () => {
    const history = [...before, user('two')];
    expect(upstreamHistory(history)).toBe(history);
    expect(latestCompaction(history)).toBeNull();
  });

  it('starts at the latest compaction block, with every block after it as stored', () => {
    const compacted = assistant(compaction('S1'), thinking('s2'), { type: 'text', text: 'a2' });
    const later = [user('three'), assistant(thinking('s3'), { type: 'text', text: 'a3' })];
    const history = [...before, user('two'), compacted, ...later];
    expect(upstreamHistory(history)).toEqual([compacted, ...later]);
    // The stored objects themselves: nothing re-encoded.
    expect(upstreamHistory(history)[0]).toBe(compacted);
  });

  it('drops the blocks before the compaction block inside its message', () => {
    const history = [
      user('one'),
      assistant({ type: 'text', text: 'early' }, compaction('S'), { type: 'text', text: 'after' }),
    ];
    expect(upstreamHistory(history)).toEqual([
      assistant(compaction('S'), { type: 'text', text: 'after' }),
    ]);
  });

  it('uses the newest of several compactions, and ignores a failed one (content null)', () => {
    const first = assistant(compaction('S1'), { type: 'text', text: 'a' });
    const second = assistant(compaction('S2'), { type: 'text', text: 'b' });
    const failed = assistant(compaction(null), { type: 'text', text: 'c' });
    const history = [user('1'), first, user('2'), second, user('3'), failed, user('4')];
    expect(upstreamHistory(history)).toEqual([second, user('3'), failed, user('4')]);
  });
});

describe('the history stored after a compaction', () => {
  const text = (t: string) => ({ type: 'text', text: t });
  const call = { type: 'tool_use', id: 'toolu_1', name: 'weather', input: { city: 'Paris' } };
  const result: MessageParam = {
    role: 'user',
    content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'sunny' }],
  };

  it('keeps everything while nothing was compacted', () => {
    const history = [user('one'), assistant(thinking('s1'), text('a1'))];
    expect(dropSpentBlocks(history)).toBe(history);
  });

  it('drops what only Claude reads before the latest compaction block, and keeps the rest', () => {
    const redacted = { type: 'redacted_thinking', data: 'r1' };
    const latest = assistant(
      thinking('s-before'),
      compaction('S2'),
      thinking('s-after'),
      text('a3'),
    );
    const after = [user('four'), assistant(thinking('s4'), text('a4'))];
    const history = [
      user('one'),
      assistant(thinking('s1'), redacted, text('a1'), call),
      result,
      assistant(compaction('S1'), thinking('s2'), text('a2')),
      user('three'),
      latest,
      ...after,
    ];
    const stored = dropSpentBlocks(history);
    expect(stored).toEqual([
      user('one'),
      assistant(text('a1'), call),
      result,
      assistant(text('a2')),
      user('three'),
      assistant(compaction('S2'), thinking('s-after'), text('a3')),
      ...after,
    ]);
    // What Claude is sent next is exactly what it was sent before.
    expect(upstreamHistory(stored)).toEqual(upstreamHistory(history));
    // The messages after the compaction are the stored objects themselves.
    expect(stored.at(-1)).toBe(history.at(-1));
  });
});
