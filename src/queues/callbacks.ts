/**
 * The `CALLBACKS` queue's consumer: delivers an ended job to its `callback_url`, signed per
 * Standard Webhooks v1 with the key's webhook secret(s). `webhook-id` is the job id, the same
 * on every try, so a receiver can drop duplicates. Only a 2xx is success; a redirect is not
 * followed; each try has a timeout; every try is recorded on the job (`GET /v1/jobs/:id`).
 * A failed try goes back to the queue with a delay (the receiver's `Retry-After`, or backoff):
 * a slow or dead receiver holds up only its own deliveries.
 */
import type { JobMessage } from '../contract/queue-messages';
import { conversationFor } from '../conversation/object';
import { ApiError } from '../errors';
import { backoffSeconds, retryAfterSeconds } from '../lib/backoff';
import { logError } from '../log';
import { findKeyById, webhookSecrets } from '../store/keys';
import { checkCallbackUrl } from '../webhooks/callback-url';
import { signatures } from '../webhooks/signature';

/** The callbacks consumer's `max_retries` in wrangler.toml. */
const CALLBACK_MAX_RETRIES = 12;
/** How long one delivery may take, from connecting to the receiver's status line. */
const DELIVERY_TIMEOUT_MS = 10_000;

export async function deliverCallback(message: Message<JobMessage>, env: Env): Promise<void> {
  const { jobId, keyId, conversationId } = message.body;
  const conversation = conversationFor(env, keyId, conversationId);
  const at = new Date().toISOString();
  try {
    const [delivery, key] = await Promise.all([
      conversation.jobForDelivery(jobId),
      findKeyById(env.KEYS, keyId),
    ]);
    if (!delivery) return message.ack();
    if (!key) {
      await conversation.recordDelivery(jobId, { at, error: 'the key was revoked; not sent' });
      return message.ack();
    }
    let url: URL;
    try {
      url = checkCallbackUrl(delivery.url, env.ALLOW_LOOPBACK_CALLBACKS === '1');
    } catch (err) {
      // Checked again at delivery: a URL refused now is refused for good.
      const why = err instanceof ApiError ? err.message : String(err);
      await conversation.recordDelivery(jobId, { at, error: `${why} Not sent.` });
      return message.ack();
    }
    const secrets = webhookSecrets(key);
    if (secrets.length === 0) {
      // Never unsigned: a receiver could not tell it from a forgery.
      await conversation.recordDelivery(jobId, {
        at,
        error: 'the key has no webhook secret; not sent',
      });
      return message.ack();
    }
    const outcome = await post(url, jobId, delivery.body, secrets);
    const final = message.attempts > CALLBACK_MAX_RETRIES;
    if (outcome.ok || final) {
      await conversation.recordDelivery(jobId, { at, ...outcome.attempt });
      // Past the last retry, retrying hands the message to the dead-letter queue.
      return outcome.ok ? message.ack() : message.retry();
    }
    const delaySeconds = backoffSeconds(message.attempts, outcome.retryAfter);
    await conversation.recordDelivery(jobId, {
      at,
      ...outcome.attempt,
      next_try_at: new Date(Date.now() + delaySeconds * 1000).toISOString(),
    });
    message.retry({ delaySeconds });
  } catch (err) {
    logError('callback', err, { job_id: jobId });
    message.retry({ delaySeconds: backoffSeconds(message.attempts) });
  }
}

async function post(url: URL, id: string, body: string, secrets: string[]) {
  const timestamp = Math.floor(Date.now() / 1000);
  try {
    const res = await fetch(url, {
      method: 'POST',
      redirect: 'manual',
      signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
      headers: {
        'content-type': 'application/json',
        'user-agent': 'thinking-edge-webhooks/1',
        'webhook-id': id,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': await signatures(secrets, id, timestamp, body),
      },
      body,
    });
    await res.body?.cancel();
    return {
      ok: res.status >= 200 && res.status < 300,
      attempt: { status: res.status },
      retryAfter: retryAfterSeconds(res.headers.get('retry-after')),
    };
  } catch (err) {
    const timedOut = err instanceof Error && err.name === 'TimeoutError';
    return {
      ok: false,
      attempt: {
        error: timedOut
          ? `no answer within ${DELIVERY_TIMEOUT_MS / 1000} s`
          : `could not connect (${err instanceof Error ? err.message : String(err)})`,
      },
      retryAfter: undefined,
    };
  }
}
