/**
 * What the conversation's object knows of its conversation between turns:
 *
 * - the conversation as it last stored it, kept in memory until its TTL. The object is the
 *   conversation's only writer, so the next turn (a tool-loop step above all) starts
 *   without a KV read and never from a stale copy;
 * - how many turns are committed, in its own SQLite storage, which outlives an eviction.
 *   After one the conversation is read from KV, which is last-writer-wins and may lag in
 *   other locations: a copy older than the committed count is refused rather than sent
 *   upstream as an incomplete chain.
 *
 * The storage table is created with the first committed turn, not before: a request naming
 * a conversation that does not exist must not leave a stored object behind.
 */
import { ApiError } from '../errors';
import { type Conversation, deleteConversation, loadConversation } from '../store/conversations';

export class ConversationState {
  #storage: DurableObjectStorage;
  #kv: KVNamespace;
  #held: { conversation: Conversation; until: number } | null = null;
  #hasTable: boolean;

  constructor(storage: DurableObjectStorage, kv: KVNamespace) {
    this.#storage = storage;
    this.#kv = kv;
    this.#hasTable =
      storage.sql
        .exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'state'")
        .toArray().length > 0;
  }

  /**
   * The conversation a turn continues when no storage read is needed: null for a new one
   * (no id in the request), or what this object last stored; `undefined` when it must be
   * read. Handed out as is: planning and running a turn build new objects and never change it.
   */
  held(continuing: boolean): Conversation | null | undefined {
    if (!continuing) return null;
    const held = this.#held;
    if (held && held.until > Date.now()) return held.conversation;
    this.#held = null;
    return undefined;
  }

  /** The conversation from KV, refused (409) when older than the last committed turn. */
  async read(keyId: string, conversationId: string): Promise<Conversation | null> {
    const stored = await loadConversation(this.#kv, keyId, conversationId);
    const committed = this.committedTurns();
    if (stored && stored.turns < committed) throw conflict('stale', committed);
    return stored;
  }

  /** Keeps what was just stored, for the next turn. */
  hold(conversation: Conversation, ttlSeconds: number): void {
    this.#held = { conversation, until: Date.now() + ttlSeconds * 1000 };
  }

  commit(turns: number): void {
    if (turns <= this.committedTurns()) return;
    if (!this.#hasTable) {
      this.#hasTable = true;
      this.#storage.sql.exec(`
        CREATE TABLE IF NOT EXISTS state (
          id INTEGER PRIMARY KEY CHECK (id = 1),
          committed_turns INTEGER NOT NULL
        );
        INSERT OR IGNORE INTO state (id, committed_turns) VALUES (1, 0);
      `);
    }
    this.#storage.sql.exec('UPDATE state SET committed_turns = ? WHERE id = 1', turns);
  }

  committedTurns(): number {
    if (!this.#hasTable) return 0;
    return this.#storage.sql
      .exec<{ committed_turns: number }>('SELECT committed_turns FROM state WHERE id = 1')
      .one().committed_turns;
  }

  /** Removes the conversation everywhere: memory, KV, and this object's storage. */
  async forget(keyId: string, conversationId: string): Promise<void> {
    this.#held = null;
    await deleteConversation(this.#kv, keyId, conversationId);
    await this.#storage.deleteAll();
    this.#hasTable = false;
  }
}

/** The 409 for a conversation that refused a turn. */
export function conflict(reason: 'busy' | 'stale', committedTurns: number): ApiError {
  return new ApiError(
    'conflict_error',
    reason === 'busy'
      ? 'Another turn of this conversation is still running. Wait for it to finish (its done or error event), then send this one.'
      : `This location has not yet seen the conversation's latest turn (${committedTurns} turns). Retry in a few seconds.`,
    409,
    { 'Retry-After': reason === 'busy' ? '1' : '2' },
  );
}
