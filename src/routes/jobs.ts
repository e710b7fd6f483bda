/**
 * `POST /v1/jobs` and `GET /v1/jobs/:id` (API.md §3), for webhook senders: a turn taken now
 * and run later from a queue, its result delivered, signed, to `callback_url`. Everything
 * that can be judged at the edge is judged before the `202` (the body, the callback URL, the
 * conversation and whether it can take the turn); secret keys only.
 */
import { Hono } from 'hono';
import { jobRequest } from '../contract/job-request';
import { parseJson, validateWith } from '../contract/validate';
import { conversationFor } from '../conversation/object';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { randomToken } from '../lib/crypto';
import { requireSecretKey } from '../middleware/auth';
import { countAlongside, countRequest } from '../middleware/rate-limit';
import { newConversationId } from '../store/conversations';
import { logError } from '../log';
import { settle } from '../store/idempotency';
import { checkCallbackUrl } from '../webhooks/callback-url';

export const jobs = new Hono<AppEnv>();

jobs.use(
  requireSecretKey(
    'Jobs take a secret key (sk_…): publishable keys and embed session tokens live in web pages, and job results go to servers.',
  ),
);

/** `job_<the conversation's id>_<random>`: the id names the object that holds the job. */
const JOB_ID = /^job_([A-Za-z0-9]{1,64})_([A-Za-z0-9]{16})$/;

jobs.post('/', async (c) => {
  const body = validateWith(jobRequest, parseJson(await c.req.text()));
  const key = c.get('apiKey');
  const { callback_url: rawCallback, ...turn } = body;
  const callbackUrl = rawCallback
    ? checkCallbackUrl(rawCallback, c.env.ALLOW_LOOPBACK_CALLBACKS === '1').href
    : null;
  const conversationId = turn.conversation_id ?? newConversationId();
  const jobId = `job_${conversationId.slice(2)}_${randomToken(16)}`;
  Object.assign(c.get('log'), {
    conversation_id: conversationId,
    job_id: jobId,
    ...(turn.user !== undefined ? { user: turn.user } : {}),
  });
  const conversation = conversationFor(c.env, key.id, conversationId);
  // Counted while the conversation's object takes the job; a refusal costs nothing: the
  // count is taken back, or (a 429) the job, whose message then finds no job.
  const counting = countAlongside(c, turn.user);
  const accepted = await conversation.acceptJob({
    jobId,
    request: { body: turn, key, conversationId },
    callbackUrl,
  });
  if (!accepted.ok) {
    await counting.withdraw();
    throw ApiError.from(accepted.error);
  }
  try {
    await counting.apply();
  } catch (err) {
    await conversation.dropJob(jobId).catch((dropped) => logError('job', dropped));
    throw err;
  }
  const answer = { job_id: jobId, status: 'queued' as const, conversation_id: conversationId };
  const idempotencyKey = c.get('idempotencyKey');
  if (idempotencyKey) {
    // The job is queued: a failure to store the answer must not turn it into an error that
    // invites a second job.
    await settle(c.env, key.id, idempotencyKey, {
      status: 202,
      body: JSON.stringify(answer),
    }).catch((err) => logError('idempotency', err, { key_id: key.id }));
  }
  return c.json(answer, 202);
});

jobs.get('/:id', countRequest(), async (c) => {
  const id = c.req.param('id');
  const match = JOB_ID.exec(id);
  const job = match
    ? await conversationFor(c.env, c.get('apiKey').id, `c_${match[1]}`).job(id)
    : null;
  if (!job) {
    throw new ApiError(
      'not_found_error',
      `job "${id.slice(0, 100)}" was not found (it may have expired).`,
    );
  }
  return c.json(job);
});
