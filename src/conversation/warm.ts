/**
 * A new conversation's object made ahead of time, one per scope (a key, or a key's end user).
 * Creating a Durable Object is the slowest part of a new conversation's first turn before
 * Claude is called: so after each new conversation of a scope, the next one's object is made,
 * and the scope's next new conversation takes it. Per isolate, and a hint only: without one
 * ready, a new conversation gets a new id as before. The object made writes nothing, so an
 * id never taken costs no storage.
 */
import { newConversationId } from '../store/conversations';
import { conversationFor } from './object';

const ready = new Map<string, string>();
const SCOPES = 1000;

/** An id for a new conversation of `scope`, its object already made when one is ready. */
export function newConversationIdFor(scope: string): string {
  const id = ready.get(scope);
  if (id === undefined) return newConversationId();
  ready.delete(scope);
  return id;
}

/** Makes the object of `scope`'s next new conversation, unless one is ready. */
export async function prepareNextConversation(env: Env, scope: string): Promise<void> {
  if (ready.has(scope)) return;
  const id = newConversationId();
  await conversationFor(env, scope, id).warm();
  if (ready.has(scope)) return;
  // Map order is insertion order: the first entry is the oldest.
  if (ready.size >= SCOPES) ready.delete(ready.keys().next().value!);
  ready.set(scope, id);
}
