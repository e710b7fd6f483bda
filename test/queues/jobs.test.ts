import {
  createExecutionContext,
  createMessageBatch,
  env,
  getQueueResult,
  runInDurableObject,
} from 'cloudflare:test';
import { describe, expect, it, vi } from 'vitest';
import worker from '../../src/index';
import { JOB_MAX_RETRIES } from '../../src/queues/jobs';
import { auth, call, chat, createKey, keyRecord } from '../helpers/api';
import { readEventStream } from '../helpers/sse';
import { until } from '../helpers/time';
import { messagesCallsSince, upstream } from '../helpers/upstream';

/**
 * A job taken by its conversation's object (which queues it: the real consumer may deliver
 * it too, which every assertion here allows) and its message, for the test to deliver.
 */
async function acceptedJob(
  key: { id: string; key: string },
  message: string,
  conversationId?: string,
  user?: string,
) {
  const id = conversationId ?? `c_${crypto.randomUUID().replaceAll('-', '').slice(0, 22)}`;
  const jobId = `job_${id.slice(2)}_${'a'.repeat(16)}`;
  const record = await keyRecord(key.id);
  const accepted = await env.CONVERSATIONS_DO.getByName(`${key.id}:${id}`).acceptJob({
    jobId,
    request: {
      body: {
        message,
        ...(conversationId ? { conversation_id: conversationId } : {}),
        ...(user ? { user } : {}),
      },
      key: record,
      conversationId: id,
    },
    callbackUrl: null,
  });
  expect(accepted.ok).toBe(true);
  return {
    jobId,
    conversationId: id,
    message: { kind: 'job', jobId, keyId: key.id, conversationId: id },
  };
}

/**
 * Delivers the messages to the Worker's queue handler as one batch, as the queue would, and
 * says what it did with each: acked, or retried (with the delay it asked for).
 */
async function deliver(bodies: unknown[], attempts = 1) {
  const batch = createMessageBatch(
    'thinking-edge-jobs',
    bodies.map((body, i) => ({ id: `m${i}`, timestamp: Date.now(), attempts, body })),
  );
  const delays = batch.messages.map((message) => vi.spyOn(message, 'retry'));
  const ctx = createExecutionContext();
  await worker.queue(batch as any, env);
  const result = await getQueueResult(batch, ctx);
  return {
    ...result,
    delays: delays.map((spy) => spy.mock.calls[0]?.[0]?.delaySeconds),
  };
}

async function jobView(key: string, jobId: string) {
  return (await (await call(`/v1/jobs/${jobId}`, { headers: auth(key) })).json()) as any;
}

describe('the jobs queue consumer', () => {
  it('runs a job delivered twice (at once, and again later) as one turn', async () => {
    const key = await createKey();
    const job = await acceptedJob(key, 'only once');
    const before = upstream.requests.length;
    const first = await deliver([job.message, job.message]);
    expect(first.explicitAcks.sort()).toEqual(['m0', 'm1']);
    const again = await deliver([job.message]);
    expect(again.explicitAcks).toEqual(['m0']);
    expect(messagesCallsSince(before)).toHaveLength(1);
    expect((await jobView(key.key, job.jobId)).status).toBe('succeeded');
    const t = (await (
      await call(`/v1/conversations/${job.conversationId}`, { headers: auth(key.key) })
    ).json()) as any;
    expect(t.turns).toBe(1);
  });

  it('makes a job on a busy conversation wait for the running turn, then run', async () => {
    const key = await createKey();
    const first = (await (await chat(key.key, { message: 'start' })).json()) as any;
    const slow = await chat(key.key, {
      conversation_id: first.conversation_id,
      message: 'slow [sim:think_ms=1500]',
      stream: true,
    });
    const job = await acceptedJob(key, 'after you', first.conversation_id);
    const result = await deliver([job.message]);
    expect(result.explicitAcks).toEqual(['m0']);
    expect((await readEventStream(slow)).events.at(-1)!.event).toBe('done');
    const view = await jobView(key.key, job.jobId);
    expect(view.status).toBe('succeeded');
    expect(view.result.turn).toBe(3);
  });

  it("sends a job over its key's limits back to the queue with a delay, and runs it once there is room", async () => {
    const key = await createKey({ limits: { concurrent_streams: 1, requests_per_minute: 1000 } });
    const slow = await chat(key.key, {
      message: 'hold the slot [sim:think_ms=1500]',
      stream: true,
    });
    const job = await acceptedJob(key, 'when there is room');
    const refused = await deliver([job.message]);
    expect(refused.retryMessages.map((m) => m.msgId)).toEqual(['m0']);
    expect(refused.delays[0]).toBeGreaterThanOrEqual(1);
    // Not ended (the real queue's own delivery may be running it right now).
    expect(['queued', 'running']).toContain((await jobView(key.key, job.jobId)).status);
    await readEventStream(slow);
    const later = await deliver([job.message], 2);
    expect(later.explicitAcks).toEqual(['m0']);
    expect((await jobView(key.key, job.jobId)).status).toBe('succeeded');
  });

  it("holds a job's turn to its end user's concurrent turns: sent back while that user's other turn runs, while another user's job runs", async () => {
    const key = await createKey({
      limits: {
        concurrent_streams: 5,
        requests_per_minute: 1000,
        per_user: { concurrent_streams: 1 },
      },
    });
    const slow = await chat(key.key, {
      message: 'hold the user slot [sim:think_ms=1500]',
      stream: true,
      user: 'u_a',
    });
    const [ofA, ofB] = [
      await acceptedJob(key, 'for a', undefined, 'u_a'),
      await acceptedJob(key, 'for b', undefined, 'u_b'),
    ];
    const refused = await deliver([ofA.message]);
    expect(refused.retryMessages.map((m) => m.msgId)).toEqual(['m0']);
    expect(refused.delays[0]).toBeGreaterThanOrEqual(1);
    expect((await deliver([ofB.message])).explicitAcks).toEqual(['m0']);
    expect((await jobView(key.key, ofB.jobId)).status).toBe('succeeded');
    await readEventStream(slow);
    expect((await deliver([ofA.message], 2)).explicitAcks).toEqual(['m0']);
    expect((await jobView(key.key, ofA.jobId)).status).toBe('succeeded');
  });

  it('retries an upstream fault with backoff, and on the last try fails the job and hands the message to the dead-letter queue', async () => {
    const key = await createKey();
    const job = await acceptedJob(key, 'doomed [sim:fail=overloaded]');
    const early = await deliver([job.message], 1);
    expect(early.retryMessages.map((m) => m.msgId)).toEqual(['m0']);
    expect(early.delays[0]).toBeGreaterThanOrEqual(1);
    // Not ended (the real queue's own delivery may be running it right now).
    expect(['queued', 'running']).toContain((await jobView(key.key, job.jobId)).status);

    const last = await deliver([job.message], JOB_MAX_RETRIES + 1);
    // Retried past max_retries (no delay: there is no next try): the queue moves it to the
    // dead-letter queue.
    expect(last.retryMessages.map((m) => m.msgId)).toEqual(['m0']);
    expect(last.delays[0]).toBeUndefined();
    expect(last.explicitAcks).toEqual([]);
    const view = await jobView(key.key, job.jobId);
    expect(view.status).toBe('failed');
    expect(view.error).toMatchObject({
      type: 'error',
      error: { type: 'overloaded_error' },
      request_id: job.jobId,
    });
    expect(view.result).toBeUndefined();
  });

  it('fails a job for good, without retrying, when its turn is refused for the request itself', async () => {
    const key = await createKey();
    const first = (await (await chat(key.key, { message: 'start' })).json()) as any;
    const job = await acceptedJob(key, 'fine when taken', first.conversation_id);
    // The conversation is deleted before the job runs: its turn can only be a 404.
    await call(`/v1/conversations/${first.conversation_id}`, {
      method: 'DELETE',
      headers: auth(key.key),
    });
    const result = await deliver([job.message]);
    expect(result.explicitAcks).toEqual(['m0']);
    expect(result.retryMessages).toEqual([]);
  });

  it("takes a turn stored by a run that died before it finished as the job's result, and adds no second turn", async () => {
    const key = await createKey();
    const first = (await (await chat(key.key, { message: 'start' })).json()) as any;
    const conversationId = first.conversation_id as string;
    // A job on the conversation, queued for real: let it run to the end first…
    const job = await acceptedJob(key, 'the job turn', conversationId);
    await until(async () => (await jobView(key.key, job.jobId)).status === 'succeeded');
    const done = await jobView(key.key, job.jobId);
    // …then put its row back the way a run leaves it when its instance dies between storing
    // the turn and ending the job: running, from a conversation of 2 messages.
    const stub = env.CONVERSATIONS_DO.getByName(`${key.id}:${conversationId}`);
    await runInDurableObject(stub, (_instance, state) => {
      state.storage.sql.exec(
        "UPDATE jobs SET status = 'running', result = NULL, base_messages = 2 WHERE id = ?",
        job.jobId,
      );
    });
    const before = upstream.requests.length;
    const result = await deliver([job.message], 2);
    expect(result.explicitAcks).toEqual(['m0']);
    expect(messagesCallsSince(before)).toHaveLength(0);
    const recovered = await jobView(key.key, job.jobId);
    expect(recovered.status).toBe('succeeded');
    expect(recovered.result).toEqual(done.result);
    const t = (await (
      await call(`/v1/conversations/${conversationId}`, { headers: auth(key.key) })
    ).json()) as any;
    expect(t.turns).toBe(2);
  });
});
