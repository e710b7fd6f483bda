import { describe, expect, it } from 'vitest';
import {
  accumulate,
  expectError,
  newSim,
  post,
  stream,
  toolResultsFor,
  WEATHER_TOOL,
  type Block,
  type Sim,
} from './helpers';

const MODIFIED =
  /^messages\.(\d+)\.content\.(\d+): `thinking` or `redacted_thinking` blocks in the latest assistant message cannot be modified\. These blocks must remain as they were in the original response\.$/;
const PREFIX = (i: number, j: number) =>
  `messages.${i}.content.${j}: Invalid \`signature\` in \`thinking\` block. The block is bound to a different conversation. Remove the block, or set \`thinking.block_binding.prefix_mismatch_behavior\` to "drop_block".`;

const request = {
  model: 'claude-opus-4-8',
  max_tokens: 8000,
  system: 'You are a weather assistant.',
  tools: [WEATHER_TOOL],
  thinking: { type: 'adaptive', display: 'omitted' },
};

type Msg = { role: string; content: string | Block[] };

/** One streamed turn; returns the assistant content as a gateway would store it. */
async function turn(sim: Sim, messages: Msg[], extra: Record<string, unknown> = {}) {
  const { events } = await stream(sim, { ...request, ...extra, messages });
  return { content: accumulate(events), stop: events.at(-2)!.data.delta.stop_reason as string };
}

/** Starts a loop: user text → assistant tool_use; returns the history ready for the tool_result turn. */
async function startLoop(sim: Sim, text: string, extra: Record<string, unknown> = {}) {
  const messages: Msg[] = [{ role: 'user', content: text }];
  const { content } = await turn(sim, messages, extra);
  messages.push({ role: 'assistant', content }, { role: 'user', content: toolResultsFor(content) });
  return messages;
}

const withLatest = (messages: Msg[], content: Block[]) => [
  ...messages.slice(0, -2),
  { role: 'assistant', content },
  messages.at(-1)!,
];

describe('tool loop replay', () => {
  it('accepts a 3-step loop replayed exactly, then answers with the tool result', async () => {
    const sim = newSim();
    const messages: Msg[] = [
      {
        role: 'user',
        content: 'Plan my week [sim:tool_steps=3] [sim:thinking_blocks=2] [sim:redacted]',
      },
    ];
    const ids = new Set<string>();
    for (let step = 1; step <= 3; step++) {
      const { content, stop } = await turn(sim, messages);
      expect(stop).toBe('tool_use');
      expect(content.map((b) => b.type)).toEqual([
        'thinking',
        'redacted_thinking',
        'text',
        'thinking',
        'tool_use',
      ]);
      ids.add(content.at(-1)!.id);
      messages.push(
        { role: 'assistant', content },
        { role: 'user', content: toolResultsFor(content, () => `sunny on day ${step}`) },
      );
    }
    expect(ids.size).toBe(3);
    const { content, stop } = await turn(sim, messages);
    expect(stop).toBe('end_turn');
    // without a tool call, both thinking blocks come first
    expect(content.map((b) => b.type)).toEqual([
      'thinking',
      'redacted_thinking',
      'thinking',
      'text',
    ]);
    expect(content.at(-1)!.text).toContain('The get_weather tool returned: sunny on day 3.');
    expect(sim.requests).toHaveLength(4);
  });

  it('ignores text put into an omitted thinking block', async () => {
    const sim = newSim();
    const messages = await startLoop(sim, 'Weather?');
    const content = (messages[1]!.content as Block[]).map((b) =>
      b.type === 'thinking' ? { ...b, thinking: '[thinking omitted]' } : b,
    );
    expect((await post(sim, { ...request, messages: withLatest(messages, content) })).status).toBe(
      200,
    );
  });

  it('accepts the JSON (non-streaming) form replayed', async () => {
    const sim = newSim();
    const first = [{ role: 'user', content: 'Weather? [sim:thinking_blocks=2]' }];
    const res = await post(sim, { ...request, messages: first });
    const { content } = (await res.json()) as { content: Block[] };
    const messages = [
      ...first,
      { role: 'assistant', content },
      { role: 'user', content: toolResultsFor(content) },
    ];
    expect((await post(sim, { ...request, messages })).status).toBe(200);
  });

  const rejects = async (sim: Sim, messages: Msg[], expected: RegExp | string, extra = {}) => {
    const e = await expectError(sim, { ...request, ...extra, messages });
    expect([e.status, e.type]).toEqual([400, 'invalid_request_error']);
    if (typeof expected === 'string') expect(e.message).toBe(expected);
    else expect(e.message).toMatch(expected);
    return e.message;
  };

  it('rejects a modified signature', async () => {
    const sim = newSim();
    const messages = await startLoop(sim, 'Weather?');
    const content = structuredClone(messages[1]!.content as Block[]);
    content[0]!.signature = content[0]!.signature.slice(0, -8) + 'AAAAAAA=';
    expect(await rejects(sim, withLatest(messages, content), MODIFIED)).toMatch(
      /^messages\.1\.content\.0:/,
    );
  });

  it('rejects dropping one of several thinking blocks', async () => {
    const sim = newSim();
    const messages = await startLoop(sim, 'Weather? [sim:thinking_blocks=2]');
    const content = (messages[1]!.content as Block[]).filter((_, j) => j !== 2); // the interleaved one
    await rejects(sim, withLatest(messages, content), MODIFIED);
  });

  it('rejects dropping the redacted_thinking block', async () => {
    const sim = newSim();
    const messages = await startLoop(sim, 'Weather? [sim:redacted]');
    const content = (messages[1]!.content as Block[]).filter((b) => b.type !== 'redacted_thinking');
    await rejects(sim, withLatest(messages, content), MODIFIED);
  });

  it('rejects reordered thinking blocks', async () => {
    const sim = newSim();
    const messages = await startLoop(sim, 'Weather? [sim:thinking_blocks=2]');
    const [t0, text, t1, tool] = messages[1]!.content as Block[];
    const message = await rejects(sim, withLatest(messages, [t1!, text!, t0!, tool!]), MODIFIED);
    expect(message).toMatch(/^messages\.1\.content\.0:/);
  });

  it('rejects an edited text block or tool input in the latest assistant message', async () => {
    const sim = newSim();
    const messages = await startLoop(sim, 'Weather?');
    const content = messages[1]!.content as Block[];
    const editedText = content.map((b) => (b.type === 'text' ? { ...b, text: b.text + '!' } : b));
    await rejects(sim, withLatest(messages, editedText), MODIFIED);
    const editedInput = content.map((b) =>
      b.type === 'tool_use' ? { ...b, input: { location: 'Paris' } } : b,
    );
    await rejects(sim, withLatest(messages, editedInput), MODIFIED);
  });

  it('rejects dropping all thinking blocks: "cannot be modified" under adaptive', async () => {
    const sim = newSim();
    const messages = await startLoop(sim, 'Weather?');
    const content = (messages[1]!.content as Block[]).filter((b) => b.type !== 'thinking');
    const message = await rejects(sim, withLatest(messages, content), MODIFIED);
    expect(message).toMatch(/^messages\.1\.content\.0:/);
  });

  it('rejects dropping all thinking blocks: "Expected thinking" under manual enabled', async () => {
    const sim = newSim();
    const manual = {
      model: 'claude-sonnet-4-5',
      thinking: { type: 'enabled', budget_tokens: 2000 },
    };
    const messages = await startLoop(sim, 'Weather?', manual);
    expect((messages[1]!.content as Block[])[0]!.type).toBe('thinking');
    const content = (messages[1]!.content as Block[]).filter((b) => b.type !== 'thinking');
    await rejects(
      sim,
      withLatest(messages, content),
      /^messages\.1\.content\.0\.type: Expected `thinking` or `redacted_thinking`, but found `text`\. When `thinking` is enabled, a final `assistant` message must start with a thinking block/,
      manual,
    );
  });

  it('lets thinking blocks go when thinking is now disabled, and answers without thinking', async () => {
    const sim = newSim();
    const messages = await startLoop(sim, 'Weather?');
    const content = (messages[1]!.content as Block[]).filter((b) => b.type !== 'thinking');
    const res = await post(sim, {
      ...request,
      thinking: { type: 'disabled' },
      messages: withLatest(messages, content),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { content: Block[] };
    expect(body.content.map((b) => b.type)).toEqual(['text']);
  });

  it('treats blanking a summarized block as a modification', async () => {
    const sim = newSim();
    const summarized = {
      model: 'claude-opus-4-6',
      thinking: { type: 'adaptive', display: 'summarized' },
    };
    const messages = await startLoop(sim, 'Weather?', summarized);
    const content = messages[1]!.content as Block[];
    expect(content[0]!.thinking).not.toBe('');
    expect((await post(sim, { ...request, ...summarized, messages })).status).toBe(200);
    const blanked = content.map((b) => (b.type === 'thinking' ? { ...b, thinking: '' } : b));
    await rejects(sim, withLatest(messages, blanked), MODIFIED, summarized);
  });
});

describe('prefix binding', () => {
  /** A finished two-turn conversation plus a new user message. */
  async function conversation(sim: Sim, extra: Record<string, unknown> = {}) {
    const messages: Msg[] = [{ role: 'user', content: 'First question' }];
    const first = await turn(sim, messages, { ...extra, tools: undefined });
    messages.push(
      { role: 'assistant', content: first.content },
      { role: 'user', content: 'Second question' },
    );
    const second = await turn(sim, messages, { ...extra, tools: undefined });
    messages.push(
      { role: 'assistant', content: second.content },
      { role: 'user', content: 'Third question' },
    );
    return messages;
  }
  const body = (messages: Msg[], extra: Record<string, unknown> = {}) => ({
    ...request,
    tools: undefined,
    ...extra,
    messages,
  });

  it('accepts the conversation replayed as issued', async () => {
    const sim = newSim();
    const messages = await conversation(sim);
    expect((await post(sim, body(messages))).status).toBe(200);
  });

  it('rejects a block replayed under a different system prompt', async () => {
    const sim = newSim();
    const messages = await conversation(sim);
    const e = await expectError(sim, body(messages, { system: 'You are a pirate.' }));
    expect([e.status, e.message]).toEqual([400, PREFIX(1, 0)]);
  });

  it('rejects a block whose earlier messages changed', async () => {
    const sim = newSim();
    const messages = await conversation(sim);
    messages[2] = { role: 'user', content: 'Second question, edited' };
    const e = await expectError(sim, body(messages));
    expect(e.message).toBe(PREFIX(3, 0));
  });

  it('rejects later blocks when an earlier thinking block was removed', async () => {
    const sim = newSim();
    const messages = await conversation(sim);
    messages[1] = {
      role: 'assistant',
      content: (messages[1]!.content as Block[]).filter((b) => b.type !== 'thinking'),
    };
    const e = await expectError(sim, body(messages));
    expect(e.message).toBe(PREFIX(3, 0));
  });

  it('rejects a forged signature', async () => {
    const sim = newSim();
    const messages = await conversation(sim);
    (messages[1]!.content as Block[])[0]!.signature = btoa('not a real signature');
    expect((await expectError(sim, body(messages))).message).toBe(PREFIX(1, 0));
  });

  it('drops mismatched blocks with prefix_mismatch_behavior "drop_block"', async () => {
    const sim = newSim();
    const messages = await conversation(sim);
    const thinking = {
      type: 'adaptive',
      block_binding: { prefix_mismatch_behavior: 'drop_block' },
    };
    const res = await post(sim, body(messages, { system: 'Changed.', thinking }), {
      'anthropic-beta': 'thinking-binding-controls-2026-08-01',
    });
    expect(res.status).toBe(200);
  });

  it('ignores cache_control and string-vs-block formatting', async () => {
    const sim = newSim();
    const messages = await conversation(sim);
    messages[0] = {
      role: 'user',
      content: [
        { type: 'text', text: 'First question', cache_control: { type: 'ephemeral' } } as Block,
      ],
    };
    const system = [{ type: 'text', text: request.system, cache_control: { type: 'ephemeral' } }];
    expect((await post(sim, body(messages, { system }))).status).toBe(200);
  });
});

describe('stateless signatures', () => {
  it('verify in another simulator instance with the same secret, not with another secret', async () => {
    const messages = await startLoop(newSim({ secret: 's1' }), 'Weather? [sim:redacted]');
    expect((await post(newSim({ secret: 's1' }), { ...request, messages })).status).toBe(200);
    const e = await expectError(newSim({ secret: 's2' }), { ...request, messages });
    expect(e.message).toMatch(MODIFIED);
    // outside a tool loop, the same blocks fail the signature check
    const later = [
      ...messages.slice(0, 2),
      { role: 'user', content: toolResultsFor(messages[1]!.content as Block[]) },
    ];
    const history = [
      ...later,
      { role: 'assistant', content: 'ok' },
      { role: 'user', content: 'next' },
    ];
    expect(
      (await expectError(newSim({ secret: 's2' }), { ...request, messages: history })).message,
    ).toBe(PREFIX(1, 0));
    expect((await post(newSim({ secret: 's1' }), { ...request, messages: history })).status).toBe(
      200,
    );
  });
});
