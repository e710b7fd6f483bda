/**
 * The last finished turn's events, kept in the conversation object's SQLite storage so that
 * a client can read them after the object was evicted (`GET /v1/conversations/:id/events`).
 * One turn at a time: each finished turn replaces the one before, so a conversation holds at
 * most one turn's events, whatever its length. They expire with the conversation.
 *
 * A SQLite row (string or blob) holds at most 2 MB, and a very long answer's events can take
 * more (128k output tokens, one small delta each, is several MB of frames), so the frames
 * are stored in parts of at most `PART_CHARS` characters (≤ 1.5 MB of UTF-8), as many as
 * the turn needs.
 */

const PART_CHARS = 512 * 1024;

export interface HeldEvents {
  turn: number;
  frames: string[];
}

export class EventsStore {
  #sql: SqlStorage;
  #hasTable: boolean;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
    this.#hasTable =
      sql
        .exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'turn_events'")
        .toArray().length > 0;
  }

  /** Keeps a finished turn's events in place of the last one's, unless a later turn's are kept. */
  save(turn: number, frames: readonly string[], expiresAt: number): void {
    if (!this.#hasTable) {
      this.#hasTable = true;
      this.#sql.exec(`CREATE TABLE IF NOT EXISTS turn_events (
        part INTEGER PRIMARY KEY, turn INTEGER NOT NULL, frames TEXT NOT NULL, expires INTEGER NOT NULL)`);
    }
    const held = this.#first();
    if (held && held.turn > turn) return;
    this.#sql.exec('DELETE FROM turn_events');
    let part = 0;
    let text = '';
    for (const frame of frames) {
      if (text !== '' && text.length + frame.length > PART_CHARS) {
        this.#insert(part++, turn, text, expiresAt);
        text = '';
      }
      text += frame;
    }
    this.#insert(part, turn, text, expiresAt);
  }

  /** The held turn's events, or null when none are held (or they expired). */
  load(now = Date.now()): HeldEvents | null {
    if (!this.#hasTable) return null;
    const rows = this.#sql
      .exec<{ turn: number; frames: string; expires: number }>(
        'SELECT turn, frames, expires FROM turn_events ORDER BY part',
      )
      .toArray();
    if (rows.length === 0) return null;
    if (rows[0]!.expires <= now) {
      this.forget();
      return null;
    }
    // Each frame ends with the only blank line it holds.
    const frames = rows.flatMap((row) =>
      row.frames
        .split('\n\n')
        .slice(0, -1)
        .map((f) => `${f}\n\n`),
    );
    return { turn: rows[0]!.turn, frames };
  }

  /** The held turn's number (null: none held, or they expired). */
  turn(now = Date.now()): number | null {
    const row = this.#first();
    if (row && row.expires <= now) this.forget();
    return row && row.expires > now ? row.turn : null;
  }

  /** When the held events expire (null: none held). */
  expiresAt(): number | null {
    return this.#first()?.expires ?? null;
  }

  #first(): { turn: number; expires: number } | undefined {
    if (!this.#hasTable) return undefined;
    return this.#sql
      .exec<{ turn: number; expires: number }>(
        'SELECT turn, expires FROM turn_events WHERE part = 0',
      )
      .toArray()[0];
  }

  forget(): void {
    if (this.#hasTable) this.#sql.exec('DELETE FROM turn_events');
  }

  #insert(part: number, turn: number, text: string, expiresAt: number) {
    this.#sql.exec(
      'INSERT INTO turn_events (part, turn, frames, expires) VALUES (?, ?, ?, ?)',
      part,
      turn,
      text,
      expiresAt,
    );
  }
}
