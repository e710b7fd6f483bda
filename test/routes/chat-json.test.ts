import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { call, chat, createKey } from '../helpers/api';
import { messagesCallsSince, upstream } from '../helpers/upstream';

async function stored(keyId: string, conversationId: string) {
  return (await env.CONVERSATIONS.get(`conv:${keyId}:${conversationId}`, 'json')) as any;
}

describe('POST /v1/chat as JSON', () => {
  it('starts a conversation and answers with text, usage and turn 1, asking Claude for omitted thinking', async () => {
    const { key } = await createKey();
    const before = upstream.requests.length;
    const res = await chat(key, { message: 'Why is the sky blue?', model: 'claude-opus-4-8' });
    expect(res.status).toBe(200);
    const body = (await res.json()) as any;
    expect(body.conversation_id).toMatch(/^c_[A-Za-z0-9]{22}$/);
    expect(body.turn).toBe(1);
    expect(body.stop_reason).toBe('end_turn');
    expect(body.content[0].type).toBe('text');
    expect(body.content[0].text).toContain('Why is the sky blue?');
    expect(body.usage.input_tokens).toBeGreaterThan(0);
    expect(body.usage.output_tokens).toBeGreaterThan(0);

    const [sent] = messagesCallsSince(before);
    expect(sent!.body.thinking).toEqual({ type: 'adaptive', display: 'omitted' });
    expect(sent!.body.stream).toBe(true);
    expect(sent!.headers.authorization).toBe('Bearer sk-ant-test-upstream-secret');
  });

  it('runs a five-turn conversation, replaying every stored thinking block so Claude accepts each turn', async () => {
    const { id: keyId, key } = await createKey();
    const before = upstream.requests.length;
    let conversationId: string | undefined;
    for (let turn = 1; turn <= 5; turn++) {
      const res = await chat(key, {
        ...(conversationId ? { conversation_id: conversationId } : { system: 'Be brief.' }),
        message: `Turn ${turn} [sim:thinking_blocks=2]${turn === 3 ? ' [sim:redacted]' : ''}`,
      });
      expect(res.status, await res.clone().text()).toBe(200);
      const body = (await res.json()) as any;
      expect(body.turn).toBe(turn);
      conversationId = body.conversation_id;
    }
    const calls = messagesCallsSince(before);
    expect(calls).toHaveLength(5);
    const conversation = await stored(keyId, conversationId!);
    expect(conversation.turns).toBe(5);
    expect(conversation.messages).toHaveLength(10);
    // Every assistant turn holds its thinking blocks, in order, with signatures and empty text.
    for (const m of conversation.messages.filter((m: any) => m.role === 'assistant')) {
      const thinking = m.content.filter((b: any) => b.type === 'thinking');
      expect(thinking.length).toBeGreaterThanOrEqual(2);
      for (const b of thinking)
        expect(b).toEqual({ type: 'thinking', thinking: '', signature: expect.any(String) });
    }
    expect(conversation.messages[5].content.some((b: any) => b.type === 'redacted_thinking')).toBe(
      true,
    );
    // The fifth request replayed turns 1-4 exactly as stored.
    expect(calls[4]!.body.messages.slice(0, 8)).toEqual(conversation.messages.slice(0, 8));
    // The same system prompt every turn, with the prompt-cache breakpoint on its end.
    for (const c of calls) {
      expect(c.body.system).toEqual([
        { type: 'text', text: 'Be brief.', cache_control: { type: 'ephemeral', ttl: '1h' } },
      ]);
    }
  });

  it('never shows thinking blocks or signatures in answers or transcripts', async () => {
    const { id: keyId, key } = await createKey();
    const res = await chat(key, { message: 'Think hard [sim:thinking_blocks=3] [sim:redacted]' });
    const text = await res.text();
    const { conversation_id } = JSON.parse(text);
    const transcript = await (
      await call(`/v1/conversations/${conversation_id}`, {
        headers: { authorization: `Bearer ${key}` },
      })
    ).text();
    // What Claude sent and the store kept: 3 signatures and the redacted data.
    const secrets = (await stored(keyId, conversation_id)).messages[1].content
      .filter((b: any) => b.type === 'thinking' || b.type === 'redacted_thinking')
      .map((b: any) => b.signature ?? b.data);
    expect(secrets).toHaveLength(4);
    for (const shown of [text, transcript]) {
      expect(shown).not.toMatch(/signature|"type":"(redacted_)?thinking"/);
      for (const secret of secrets) expect(shown).not.toContain(secret.slice(0, 40));
    }
  });

  it('keeps the conversation thinking configuration and sends effort as output_config', async () => {
    const { key } = await createKey();
    const before = upstream.requests.length;
    const first = (await (
      await chat(key, { message: 'one', model: 'claude-opus-4-8', thinking: { effort: 'low' } })
    ).json()) as any;
    await chat(key, { conversation_id: first.conversation_id, message: 'two' });
    const calls = messagesCallsSince(before);
    expect(calls.map((c) => c.body.output_config)).toEqual([{ effort: 'low' }, { effort: 'low' }]);
    expect(calls[1]!.body.model).toBe('claude-opus-4-8');
  });
});
