import { createMessageBatch, env, getQueueResult, createExecutionContext } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import worker from '../../src/index';
import { auth, call, createKey, keyRecord } from '../helpers/api';
import { receiver } from '../helpers/receiver';
import { until } from '../helpers/time';

describe('the callbacks queue consumer', () => {
  it('checks the callback URL again at delivery: a URL that is no longer allowed is never fetched, and the try says why', async () => {
    const { id: keyId, key } = await createKey();
    // Accepted directly by the object (as if the rules had changed since): the route would refuse it.
    const conversationId = `c_${crypto.randomUUID().replaceAll('-', '').slice(0, 22)}`;
    const jobId = `job_${conversationId.slice(2)}_${'b'.repeat(16)}`;
    const conversation = env.CONVERSATIONS_DO.getByName(`${keyId}:${conversationId}`);
    const accepted = await conversation.acceptJob({
      jobId,
      request: { body: { message: 'x' }, key: await keyRecord(keyId), conversationId },
      callbackUrl: 'https://169.254.169.254/latest/meta-data',
    });
    expect(accepted.ok).toBe(true);
    // Run it through the jobs consumer; its callback is then queued for real.
    const batch = createMessageBatch('thinking-edge-jobs', [
      {
        id: 'j',
        timestamp: Date.now(),
        attempts: 1,
        body: { kind: 'job', jobId, keyId, conversationId },
      },
    ]);
    await worker.queue(batch as any, env);
    await getQueueResult(batch, createExecutionContext());
    let view: any;
    await until(async () => {
      view = await (await call(`/v1/jobs/${jobId}`, { headers: auth(key) })).json();
      return view.deliveries.length === 1;
    });
    expect(view.status).toBe('succeeded');
    expect(view.deliveries[0].error).toMatch(/IP address.*Not sent/);
    expect(view.deliveries[0].status).toBeUndefined();
  });

  it('records a receiver that cannot be reached as a network error, with the next try', async () => {
    const { key } = await createKey();
    const url = receiver.endpoint([
      () => {
        throw new Error('connection refused');
      },
    ]);
    const res = await call('/v1/jobs', {
      method: 'POST',
      headers: auth(key),
      json: { message: 'x', callback_url: url },
    });
    const { job_id } = (await res.json()) as any;
    let view: any;
    await until(async () => {
      view = await (await call(`/v1/jobs/${job_id}`, { headers: auth(key) })).json();
      return view.deliveries.length >= 1;
    });
    expect(view.deliveries[0].error).toMatch(/could not connect/);
    expect(Date.parse(view.deliveries[0].next_try_at)).toBeGreaterThan(
      Date.parse(view.deliveries[0].at),
    );
  });
});
