/**
 * The `JOBS` queue's consumer: each message runs its job's turn in the conversation's object,
 * the same path as `/v1/chat` (limits, one turn at a time, usage). The object says whether
 * the message is done, is to be retried after a delay, or goes to the dead-letter queue.
 */
import type { JobMessage } from '../contract/queue-messages';
import { conversationFor } from '../conversation/object';
import { ApiError } from '../errors';
import { backoffSeconds } from '../lib/backoff';
import { turnTicket } from '../limits/admission';
import { logError } from '../log';
import { findKeyById } from '../store/keys';

/** The jobs consumer's `max_retries` in wrangler.toml: a try after this many retries is the last. */
export const JOB_MAX_RETRIES = 8;

export async function consumeJob(message: Message<JobMessage>, env: Env): Promise<void> {
  const { jobId, keyId, conversationId } = message.body;
  const conversation = conversationFor(env, keyId, conversationId);
  try {
    const key = await findKeyById(env.KEYS, keyId);
    if (!key) {
      await conversation.failJob(
        jobId,
        new ApiError(
          'authentication_error',
          'The key that created this job was revoked before it ran.',
        ).toJSON(),
      );
      message.ack();
      return;
    }
    const verdict = await conversation.runJob({
      jobId,
      key,
      // Its POST was counted in the minute window; the turn takes a slot and tokens.
      ticket: { ...turnTicket(env, key, undefined), counted: true },
      attempt: message.attempts,
      final: message.attempts > JOB_MAX_RETRIES,
    });
    if (verdict.kind === 'done') message.ack();
    else if (verdict.kind === 'retry') message.retry({ delaySeconds: verdict.delaySeconds });
    // The last try failed: retrying past max_retries hands the message to the dead-letter queue.
    else message.retry();
  } catch (err) {
    logError('job', err, { job_id: jobId });
    if (message.attempts > JOB_MAX_RETRIES) {
      // The last try: the job must not stay queued with nobody left to run it.
      await conversation
        .failJob(
          jobId,
          new ApiError('api_error', 'The job could not be run. Send it again.').toJSON(),
        )
        .catch((failed) => logError('job', failed, { job_id: jobId }));
      message.retry();
    } else {
      message.retry({ delaySeconds: backoffSeconds(message.attempts) });
    }
  }
}
