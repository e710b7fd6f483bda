import { describe, expect, it } from 'vitest';
import { StreamTranslator } from '../../src/anthropic/stream';
import { visibleContent } from '../../src/contract/answer';
import type { ClientEvent } from '../../src/contract/events';
import compaction from '../fixtures/upstream/compaction-then-answer.sse?raw';
import dropped from '../fixtures/upstream/dropped-connection.sse?raw';
import interleaved from '../fixtures/upstream/interleaved-tools.sse?raw';
import midstreamError from '../fixtures/upstream/midstream-error.sse?raw';
import summarized from '../fixtures/upstream/summarized-then-refusal.sse?raw';
import omittedNoDelta from '../fixtures/upstream/thinking-omitted-no-delta.sse?raw';
import omitted from '../fixtures/upstream/thinking-omitted.sse?raw';
import toolCut from '../fixtures/upstream/tool-cut-by-max-tokens.sse?raw';
import unknownEvents from '../fixtures/upstream/unknown-events.sse?raw';
import { parseSse } from '../helpers/sse';

function translate(sse: string) {
  const out: ClientEvent[] = [];
  const translator = new StreamTranslator((e) => out.push(e));
  for (const { data } of parseSse(sse)) translator.push(data);
  return { out, result: translator.finish() };
}

const texts = (out: ClientEvent[]) => out.flatMap((e) => (e.event === 'text' ? [e.data.text] : []));

describe('stream translation (upstream events → client events + stored turn)', () => {
  it.each([
    ['with one empty thinking_delta before the signature', omitted],
    ['with no thinking_delta at all (older wire shape)', omittedNoDelta],
  ])('keeps an omitted thinking block %s byte-for-byte and streams only the text', (_, sse) => {
    const { out, result } = translate(sse);
    expect(out).toEqual([
      { event: 'status', data: { phase: 'thinking' } },
      { event: 'status', data: { phase: 'answering' } },
      { event: 'text', data: { text: 'Tides come' } },
      { event: 'text', data: { text: ' from the Moon.' } },
    ]);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.turn.content).toEqual([
      { type: 'thinking', thinking: '', signature: 'U2lnLW9taXR0ZWQtb25lLXRoaW5raW5nLWJsb2Nr' },
      { type: 'text', text: 'Tides come from the Moon.' },
    ]);
    expect(result.turn.stop_reason).toBe('end_turn');
    expect(result.turn.usage).toEqual({
      input_tokens: 42,
      output_tokens: 57,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
      thinking_tokens: 40,
    });
  });

  it('keeps several thinking blocks and a redacted_thinking block in order, and emits each complete tool call', () => {
    const { out, result } = translate(interleaved);
    expect(out.filter((e) => e.event === 'tool_use')).toEqual([
      {
        event: 'tool_use',
        data: {
          id: 'toolu_weather_1',
          name: 'get_weather',
          input: { city: 'Paris', unit: 'celsius' },
        },
      },
      { event: 'tool_use', data: { id: 'toolu_time_2', name: 'get_time', input: {} } },
    ]);
    expect(out.filter((e) => e.event === 'status').map((e) => e.data)).toEqual([
      { phase: 'thinking' },
      { phase: 'answering' },
      { phase: 'thinking' },
      { phase: 'answering' },
    ]);
    expect(result.ok && result.turn.content.map((b) => b.type)).toEqual([
      'thinking',
      'redacted_thinking',
      'text',
      'thinking',
      'tool_use',
      'tool_use',
    ]);
    if (!result.ok) return;
    expect(result.turn.content[1]).toEqual({
      type: 'redacted_thinking',
      data: 'RW5jcnlwdGVkLXJlZGFjdGVkLWJsb2Nr',
    });
    expect(result.turn.content[3]).toEqual({
      type: 'thinking',
      thinking: '',
      signature: 'U2lnLXNlY29uZC1ibG9jaw==',
    });
    expect(result.turn.stop_reason).toBe('tool_use');
  });

  it('drops a tool call cut off by max_tokens without content_block_stop, and never emits it', () => {
    const { out, result } = translate(toolCut);
    expect(out.some((e) => e.event === 'tool_use')).toBe(false);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.turn.stop_reason).toBe('max_tokens');
    expect(result.turn.content.map((b) => b.type)).toEqual(['thinking', 'text']);
    expect(result.turn.usage.output_tokens).toBe(64);
  });

  it('turns an error event after the 200 into a failed turn with the upstream error type', () => {
    const { out, result } = translate(midstreamError);
    expect(texts(out)).toEqual(['Partial answ']);
    expect(result).toMatchObject({
      ok: false,
      error: { type: 'overloaded_error', message: 'Overloaded' },
    });
  });

  it('fails a turn whose stream ends without message_stop', () => {
    const { result } = translate(dropped);
    expect(result).toMatchObject({ ok: false, error: { type: 'api_error' } });
  });

  it('ignores pings, unknown event types, and keeps a block that had no deltas', () => {
    const { out, result } = translate(unknownEvents);
    expect(texts(out)).toEqual(['Still here.']);
    expect(result.ok && result.turn.content).toEqual([
      { type: 'fallback', reason: 'capacity' },
      { type: 'thinking', thinking: '', signature: 'U2lnLWFmdGVyLWZhbGxiYWNr' },
      { type: 'text', text: 'Still here.' },
    ]);
  });

  it('never emits thinking text, even when the upstream sends summarized thinking', () => {
    const { out, result } = translate(summarized);
    expect(JSON.stringify(out)).not.toContain('eclipses');
    expect(result.ok && result.turn.stop_reason).toBe('refusal');
    expect(result.ok && result.turn.content[0]).toEqual({
      type: 'thinking',
      thinking: 'The user asks about eclipses.',
      signature: 'U2lnLXN1bW1hcml6ZWQ=',
    });
  });

  it('shows clients only text and tool calls', () => {
    const { result } = translate(interleaved);
    if (!result.ok) throw new Error('expected a turn');
    const visible = visibleContent(result.turn.content);
    expect(visible.map((b) => b.type)).toEqual(['text', 'tool_use', 'tool_use']);
    expect(JSON.stringify(visible)).not.toMatch(/signature|redacted|U2ln/);
  });

  it('keeps a compaction block whole (filled by its one compaction_delta), says "compacting", and reports what compaction used apart', () => {
    const { out, result } = translate(compaction);
    expect(out.filter((e) => e.event === 'status')).toEqual([
      { event: 'status', data: { phase: 'compacting' } },
      { event: 'status', data: { phase: 'thinking' } },
      { event: 'status', data: { phase: 'answering' } },
    ]);
    expect(texts(out)).toEqual(['Take the tram.']);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.turn.content[0]).toEqual({
      type: 'compaction',
      content: 'Summary: the user and Claude planned a trip to Lisbon.',
      encrypted_content: 'RW5jLWNvbXBhY3Rpb24tMDE=',
    });
    expect(result.turn.content.map((b) => b.type)).toEqual(['compaction', 'thinking', 'text']);
    // Top level: the answer's own pass, as Claude reports it; compaction beside it.
    expect(result.turn.usage).toEqual({
      input_tokens: 3,
      output_tokens: 90,
      cache_creation_input_tokens: 400,
      cache_read_input_tokens: 1200,
      thinking_tokens: 60,
      compaction: {
        input_tokens: 151_000,
        output_tokens: 2400,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 0,
      },
    });
    expect(visibleContent(result.turn.content)).toEqual([{ type: 'text', text: 'Take the tram.' }]);
  });

  it("keeps a refusal's stop_details", () => {
    const { result } = translate(summarized);
    expect(result.ok && result.turn.stop_reason).toBe('refusal');
    expect(result.ok && result.turn.stop_details).toEqual({
      type: 'refusal',
      category: null,
      explanation: null,
    });
  });
});
