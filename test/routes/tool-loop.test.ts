import { describe, expect, it } from 'vitest';
import { chat, createKey, expectError, okJson } from '../helpers/api';
import { messagesCallsSince, upstream } from '../helpers/upstream';

const calculator = {
  name: 'calculator',
  description: 'Evaluates an arithmetic expression',
  input_schema: {
    type: 'object',
    properties: { expression: { type: 'string' } },
    required: ['expression'],
  },
};

describe('tool loops', () => {
  it('runs a three-step tool loop, replaying the thinking blocks unmodified at every step', async () => {
    const { key } = await createKey();
    const before = upstream.requests.length;
    let answer = await okJson(
      await chat(key, {
        message: 'Add things up [sim:tool_steps=3] [sim:thinking_blocks=2]',
        tools: [calculator],
      }),
    );
    const conversationId = answer.conversation_id;
    for (let step = 1; step <= 3; step++) {
      expect(answer.stop_reason).toBe('tool_use');
      const calls = answer.content.filter((b: any) => b.type === 'tool_use');
      expect(calls).toHaveLength(1);
      expect(calls[0]).toMatchObject({
        name: 'calculator',
        input: { expression: expect.any(String) },
      });
      answer = await okJson(
        await chat(key, {
          conversation_id: conversationId,
          tool_results: calls.map((c: any) => ({ tool_use_id: c.id, content: `result ${step}` })),
        }),
      );
      expect(answer.turn).toBe(step + 1);
    }
    expect(answer.stop_reason).toBe('end_turn');
    const sent = messagesCallsSince(before);
    expect(sent).toHaveLength(4);
    // Each step sends the previous assistant message back with its thinking blocks first.
    for (const request of sent.slice(1)) {
      const lastAssistant = request.body.messages.at(-2);
      expect(lastAssistant.role).toBe('assistant');
      expect(lastAssistant.content[0]).toEqual({
        type: 'thinking',
        thinking: '',
        signature: expect.any(String),
      });
      expect(request.body.messages.at(-1).content[0].type).toBe('tool_result');
      expect(request.body.tools).toEqual([
        { ...calculator, cache_control: { type: 'ephemeral', ttl: '1h' } },
      ]);
    }
  });

  it('answers parallel tool calls only when every one has a result', async () => {
    const { key } = await createKey();
    const first = await okJson(
      await chat(key, { message: 'two at once [sim:parallel_tools=2]', tools: [calculator] }),
    );
    const ids = first.content.filter((b: any) => b.type === 'tool_use').map((b: any) => b.id);
    expect(ids).toHaveLength(2);
    const id = first.conversation_id;
    const before = upstream.requests.length;

    const missing = await chat(key, {
      conversation_id: id,
      tool_results: [{ tool_use_id: ids[0], content: '1' }],
    });
    expect((await expectError(missing, 400, 'invalid_request_error')).message).toContain(ids[1]);
    const extra = await chat(key, {
      conversation_id: id,
      tool_results: [
        ...ids.map((t: string) => ({ tool_use_id: t, content: '1' })),
        { tool_use_id: 'toolu_other', content: '1' },
      ],
    });
    expect((await expectError(extra, 400, 'invalid_request_error')).message).toContain(
      'toolu_other',
    );
    const twice = await chat(key, {
      conversation_id: id,
      tool_results: [ids[0], ids[0], ids[1]].map((t) => ({ tool_use_id: t, content: '1' })),
    });
    expect((await expectError(twice, 400, 'invalid_request_error')).message).toMatch(
      /more than once/,
    );
    const message = await chat(key, { conversation_id: id, message: 'never mind' });
    expect((await expectError(message, 400, 'invalid_request_error')).message).toMatch(
      /tool_results/,
    );
    const changeThinking = await chat(key, {
      conversation_id: id,
      thinking: { effort: 'max' },
      tool_results: ids.map((t: string) => ({ tool_use_id: t, content: '1' })),
    });
    expect((await expectError(changeThinking, 400, 'invalid_request_error')).message).toMatch(
      /inside a tool loop/,
    );
    expect(messagesCallsSince(before)).toHaveLength(0);

    const done = await okJson(
      await chat(key, {
        conversation_id: id,
        tool_results: ids.map((t: string) => ({ tool_use_id: t, content: '4', is_error: false })),
      }),
    );
    expect(done.stop_reason).toBe('end_turn');
  });

  it('refuses tool_results when nothing is pending or there is no conversation', async () => {
    const { key } = await createKey();
    const plain = await okJson(await chat(key, { message: 'no tools here' }));
    const res = await chat(key, {
      conversation_id: plain.conversation_id,
      tool_results: [{ tool_use_id: 'toolu_x', content: 'r' }],
    });
    expect((await expectError(res, 400, 'invalid_request_error')).message).toMatch(
      /no pending tool calls/,
    );
    const orphan = await chat(key, { tool_results: [{ tool_use_id: 'toolu_x', content: 'r' }] });
    expect((await expectError(orphan, 400, 'invalid_request_error')).message).toMatch(
      /conversation_id/,
    );
  });
});
