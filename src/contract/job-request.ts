/**
 * `POST /v1/jobs` (API.md §3): the `/v1/chat` body without `stream`, plus an optional
 * `callback_url` that receives the signed result; and the job as `GET /v1/jobs/:id` shows it.
 */
import type { TurnAnswer } from './answer';
import { oneTurn, turnFields } from './chat-request';
import * as z from './zod';

export const jobRequest = z
  .strictObject({
    ...turnFields,
    callback_url: z.optional(
      z.string().check(z.maxLength(2048, 'must be at most 2048 characters')),
    ),
  })
  .check(oneTurn());

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed';

/** One try at delivering a job's callback. */
export interface DeliveryAttempt {
  /** ISO 8601. */
  at: string;
  /** The receiver's HTTP status, when it answered. */
  status?: number;
  /** Why there was no status: a network error, a timeout, a refused URL. */
  error?: string;
  /** ISO 8601: when the next try is due; absent after a success or the last try. */
  next_try_at?: string;
}

export interface JobView {
  job_id: string;
  status: JobStatus;
  conversation_id: string;
  created_at: string;
  updated_at: string;
  /** The `/v1/chat` JSON answer, when the job succeeded. */
  result?: TurnAnswer;
  /** The error, in the error shape (API.md §5; `request_id` is the job's id), when it failed. */
  error?: { type: 'error'; error: { type: string; message: string }; request_id: string };
  callback_url?: string;
  deliveries: DeliveryAttempt[];
}
