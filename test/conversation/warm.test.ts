/**
 * A new conversation's object made ahead of time (conversation/warm.ts): each prepared id
 * goes to one new conversation of its scope only, and making the object writes nothing.
 */
import { env, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { conversationFor } from '../../src/conversation/object';
import { newConversationIdFor, prepareNextConversation } from '../../src/conversation/warm';
import { chat, createKey, okJson } from '../helpers/api';

describe("a new conversation's object, made ahead", () => {
  it("goes to the scope's next new conversation, once, and to no other scope", async () => {
    await prepareNextConversation(env, 'key_warm_a');
    // Already one ready: not replaced.
    await prepareNextConversation(env, 'key_warm_a');
    const other = newConversationIdFor('key_warm_b');
    const first = newConversationIdFor('key_warm_a');
    const second = newConversationIdFor('key_warm_a');
    expect(new Set([other, first, second]).size).toBe(3);
    for (const id of [other, first, second]) expect(id).toMatch(/^c_[A-Za-z0-9]{22}$/);
  });

  it('is made without writing anything to its storage', async () => {
    await prepareNextConversation(env, 'key_warm_c');
    const id = newConversationIdFor('key_warm_c');
    const tables = await runInDurableObject(conversationFor(env, 'key_warm_c', id), (_, state) =>
      state.storage.sql
        .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'")
        .toArray()
        .map((t) => t.name),
    );
    expect(tables.filter((name) => !name.startsWith('_cf_'))).toEqual([]);
  });

  it('leaves every new conversation its own id and history', async () => {
    const { key } = await createKey();
    const answers = [];
    for (let i = 0; i < 4; i++)
      answers.push(await okJson(await chat(key, { message: `new ${i}` })));
    expect(new Set(answers.map((a) => a.conversation_id)).size).toBe(4);
    expect(answers.every((a) => a.turn === 1)).toBe(true);
  });
});
