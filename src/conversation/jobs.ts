/**
 * A conversation's jobs (`POST /v1/jobs`), kept in its object's SQLite storage beside the
 * turns they run, so that a job's result is committed with its turn and a job delivered
 * twice by the queue finds it done. Rows expire with the conversation's TTL.
 */
import type { ChatRequest } from '../contract/chat-request';
import type { DeliveryAttempt, JobStatus, JobView } from '../contract/job-request';
import { type ApiErrorJson, errorBody } from '../errors';

export interface Job {
  id: string;
  keyId: string;
  conversationId: string;
  status: JobStatus;
  /** The turn to run: the `/v1/chat` fields of the job's request. */
  body: ChatRequest;
  callbackUrl: string | null;
  /** The `/v1/chat` JSON answer, once the job succeeded. */
  result: string | null;
  error: ApiErrorJson | null;
  created: number;
  updated: number;
  callbackQueued: boolean;
  deliveries: DeliveryAttempt[];
  /** How many messages the conversation had when the job's run began (null: never began). */
  baseMessages: number | null;
}

interface JobRow extends Record<string, SqlStorageValue> {
  id: string;
  key_id: string;
  conversation_id: string;
  status: string;
  body: string;
  callback_url: string | null;
  result: string | null;
  error: string | null;
  created: number;
  updated: number;
  callback_queued: number;
  deliveries: string;
  base_messages: number | null;
}

/** A job that has not ended. */
const OPEN = "status NOT IN ('succeeded', 'failed')";
/** Rows outlive a short conversation TTL by the span of a callback's retries (about 2 days). */
const MIN_KEEP_SECONDS = 3 * 86_400;

export class JobBook {
  #sql: SqlStorage;
  #ttlMs: number;
  #hasTable: boolean;

  constructor(sql: SqlStorage, ttlSeconds: number) {
    this.#sql = sql;
    this.#ttlMs = Math.max(ttlSeconds, MIN_KEEP_SECONDS) * 1000;
    this.#hasTable =
      sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'jobs'").toArray()
        .length > 0;
  }

  add(job: Pick<Job, 'id' | 'keyId' | 'conversationId' | 'body' | 'callbackUrl'>): void {
    if (!this.#hasTable) {
      this.#hasTable = true;
      this.#sql.exec(`CREATE TABLE IF NOT EXISTS jobs (
        id TEXT PRIMARY KEY, key_id TEXT NOT NULL, conversation_id TEXT NOT NULL,
        status TEXT NOT NULL, body TEXT NOT NULL, callback_url TEXT, result TEXT, error TEXT,
        created INTEGER NOT NULL, updated INTEGER NOT NULL,
        callback_queued INTEGER NOT NULL DEFAULT 0, deliveries TEXT NOT NULL DEFAULT '[]',
        base_messages INTEGER)`);
    }
    const now = Date.now();
    this.#sql.exec('DELETE FROM jobs WHERE updated < ?', now - this.#ttlMs);
    this.#sql.exec(
      `INSERT OR IGNORE INTO jobs (id, key_id, conversation_id, status, body, callback_url, created, updated)
       VALUES (?, ?, ?, 'queued', ?, ?, ?, ?)`,
      job.id,
      job.keyId,
      job.conversationId,
      JSON.stringify(job.body),
      job.callbackUrl,
      now,
      now,
    );
  }

  /** The job, unless it expired (a read writes nothing: expired rows go when a job is added). */
  get(id: string): Job | null {
    if (!this.#hasTable) return null;
    const row = this.#sql
      .exec<JobRow>(
        'SELECT * FROM jobs WHERE id = ? AND updated >= ?',
        id,
        Date.now() - this.#ttlMs,
      )
      .toArray()[0];
    return row ? fromRow(row) : null;
  }

  /** Running from a conversation of `baseMessages` messages (kept, to recognise its turn later). */
  running(id: string, baseMessages: number): void {
    if (!this.#hasTable) return;
    this.#sql.exec(
      `UPDATE jobs SET status = 'running', base_messages = ?, updated = ? WHERE id = ? AND ${OPEN}`,
      baseMessages,
      Date.now(),
      id,
    );
  }

  /** Back to queued, with the error of the try that failed, for a retry. */
  requeue(id: string, error: ApiErrorJson): void {
    if (!this.#hasTable) return;
    this.#sql.exec(
      `UPDATE jobs SET status = 'queued', error = ?, updated = ? WHERE id = ? AND ${OPEN}`,
      JSON.stringify(error),
      Date.now(),
      id,
    );
  }

  /** Ends the job, once: an ended job's outcome (so its callback's body) never changes. */
  succeed(id: string, result: string): void {
    if (!this.#hasTable) return;
    this.#sql.exec(
      `UPDATE jobs SET status = 'succeeded', result = ?, error = NULL, updated = ? WHERE id = ? AND ${OPEN}`,
      result,
      Date.now(),
      id,
    );
  }

  fail(id: string, error: ApiErrorJson): void {
    if (!this.#hasTable) return;
    this.#sql.exec(
      `UPDATE jobs SET status = 'failed', error = ?, updated = ? WHERE id = ? AND ${OPEN}`,
      JSON.stringify(error),
      Date.now(),
      id,
    );
  }

  /** Ids of the jobs posted before `id` (in insertion order) that have not run yet, oldest first. */
  waitingBefore(id: string): string[] {
    if (!this.#hasTable) return [];
    return this.#sql
      .exec<{ id: string }>(
        `SELECT id FROM jobs WHERE status = 'queued'
           AND rowid < (SELECT rowid FROM jobs WHERE id = ?) ORDER BY rowid`,
        id,
      )
      .toArray()
      .map((row) => row.id);
  }

  any(): boolean {
    return this.#hasTable && this.#sql.exec('SELECT 1 FROM jobs LIMIT 1').toArray().length > 0;
  }

  /** The object's storage was cleared (the conversation was deleted): its jobs went with it. */
  forgetAll(): void {
    this.#hasTable = false;
  }

  remove(id: string): void {
    if (this.#hasTable) this.#sql.exec('DELETE FROM jobs WHERE id = ?', id);
  }

  callbackQueued(id: string): void {
    this.#sql.exec('UPDATE jobs SET callback_queued = 1 WHERE id = ?', id);
  }

  /** Keeps a delivery attempt (the last 50), without touching the job's own times. */
  addDelivery(id: string, attempt: DeliveryAttempt): void {
    const job = this.get(id);
    if (!job) return;
    const deliveries = [...job.deliveries, attempt].slice(-50);
    this.#sql.exec('UPDATE jobs SET deliveries = ? WHERE id = ?', JSON.stringify(deliveries), id);
  }
}

/** The job as `GET /v1/jobs/:id` shows it; without `deliveries`, it is the callback's body too. */
export function jobView(job: Job): JobView {
  return {
    job_id: job.id,
    status: job.status,
    conversation_id: job.conversationId,
    created_at: new Date(job.created).toISOString(),
    updated_at: new Date(job.updated).toISOString(),
    ...(job.status === 'succeeded' && job.result ? { result: JSON.parse(job.result) } : {}),
    ...(job.status === 'failed' && job.error
      ? { error: errorBody(job.error.type, job.error.message, job.id) }
      : {}),
    ...(job.callbackUrl ? { callback_url: job.callbackUrl } : {}),
    deliveries: job.deliveries,
  };
}

function fromRow(row: JobRow): Job {
  return {
    id: row.id,
    keyId: row.key_id,
    conversationId: row.conversation_id,
    status: row.status as JobStatus,
    body: JSON.parse(row.body) as ChatRequest,
    callbackUrl: row.callback_url,
    result: row.result,
    error: row.error ? (JSON.parse(row.error) as ApiErrorJson) : null,
    created: row.created,
    updated: row.updated,
    callbackQueued: row.callback_queued === 1,
    deliveries: JSON.parse(row.deliveries) as DeliveryAttempt[],
    baseMessages: row.base_messages,
  };
}
