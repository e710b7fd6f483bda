/**
 * The Worker's `queue` handler: jobs and callback deliveries, each message on its own (acked
 * or retried by itself), all of a batch at once so that one slow message holds up no other.
 */
import type { JobMessage } from '../contract/queue-messages';
import { deliverCallback } from './callbacks';
import { consumeJob } from './jobs';

export async function consume(batch: MessageBatch<JobMessage>, env: Env): Promise<void> {
  await Promise.all(
    batch.messages.map((message) =>
      message.body.kind === 'callback' ? deliverCallback(message, env) : consumeJob(message, env),
    ),
  );
}
