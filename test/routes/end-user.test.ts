/**
 * The `user` field (API.md §2): an opaque end-user id of at most 256 characters on
 * `/v1/chat` and `/v1/jobs` (and the `?user=` of `/v1/usage`), refused with a 400 that says
 * how to fix it, and forwarded upstream as `metadata.user_id`.
 */
import { describe, expect, it } from 'vitest';
import { auth, call, chat, createKey, expectError, okJson } from '../helpers/api';
import { awayFromMinuteBoundary, until } from '../helpers/time';
import { messagesCallsSince, upstream } from '../helpers/upstream';

const postJob = (key: string, body: Record<string, unknown>) =>
  call('/v1/jobs', { method: 'POST', headers: auth(key), json: body });

const BAD_USERS: Array<{ name: string; user: unknown; says: RegExp }> = [
  { name: 'too long (257 characters)', user: 'u'.repeat(257), says: /at most 256 characters/ },
  { name: 'empty', user: '', says: /must not be empty/ },
  { name: 'an e-mail address', user: 'ada@example.com', says: /looks like an e-mail address/ },
  { name: 'a number', user: 42, says: /must be an opaque end-user id/ },
  { name: 'an object', user: { id: 'u_1' }, says: /must be an opaque end-user id/ },
  { name: 'a line break in it', user: 'u_1\nforged', says: /control characters/ },
];

describe('the user field', () => {
  it.each(BAD_USERS)(
    'refuses a user that is $name on /v1/chat, /v1/jobs and ?user=, before calling Claude',
    async ({ user, says }) => {
      const { key } = await createKey();
      const before = upstream.requests.length;
      for (const res of [
        await chat(key, { message: 'hi', user }),
        await postJob(key, { message: 'hi', user }),
      ]) {
        const error = await expectError(res, 400, 'invalid_request_error');
        expect(error.message).toMatch(/^user: /);
        expect(error.message).toMatch(says);
        // Every message says what to send instead.
        expect(error.message).toMatch(/opaque end-user id of 1–256 characters, e\.g\. a hash/);
      }
      if (typeof user === 'string') {
        const query = await call(`/v1/usage?user=${encodeURIComponent(user)}`, {
          headers: auth(key),
        });
        expect((await expectError(query, 400, 'invalid_request_error')).message).toMatch(says);
      }
      expect(messagesCallsSince(before)).toHaveLength(0);
      // Refused requests are not counted.
      expect((await okJson(await call('/v1/usage', { headers: auth(key) }))).used).toMatchObject({
        requests_this_minute: 1,
      });
    },
  );

  it('takes 256 characters, and ids with @ or spaces that are not addresses', async () => {
    const { key } = await createKey();
    for (const user of ['u'.repeat(256), 'team@acme', 'hash 9f86d081', 'ü_ñ_中']) {
      expect((await chat(key, { message: 'hi', user })).status).toBe(200);
    }
  });

  it('forwards the user upstream as metadata.user_id, and sends no metadata without one', async () => {
    const { key } = await createKey();
    const before = upstream.requests.length;
    const first = await okJson(await chat(key, { message: 'hi', user: 'u_9f86d081' }));
    // A conversation is not bound to a user: each request's own user goes upstream.
    await okJson(
      await chat(key, {
        conversation_id: first.conversation_id,
        message: 'again',
        user: 'u_other',
      }),
    );
    await okJson(await chat(key, { conversation_id: first.conversation_id, message: 'anonymous' }));
    const sent = messagesCallsSince(before).map((r) => (r.body as any).metadata);
    expect(sent).toEqual([{ user_id: 'u_9f86d081' }, { user_id: 'u_other' }, undefined]);
  });

  it('runs a job with its stored user: metadata.user_id upstream, and its tokens counted for that user', async () => {
    await awayFromMinuteBoundary();
    const { key } = await createKey();
    const before = upstream.requests.length;
    const posted = await postJob(key, { message: 'later', user: 'u_job' });
    expect(posted.status).toBe(202);
    const { job_id } = (await posted.json()) as any;
    let job: any;
    await until(async () => {
      job = await okJson(await call(`/v1/jobs/${job_id}`, { headers: auth(key) }));
      return job.status === 'succeeded' || job.status === 'failed';
    }, 15_000);
    expect(job.status).toBe('succeeded');
    const calls = messagesCallsSince(before);
    expect(calls.map((r) => (r.body as any).metadata)).toEqual([{ user_id: 'u_job' }]);
    const { usage } = job.result;
    const ofUser = await okJson(await call('/v1/usage?user=u_job', { headers: auth(key) }));
    expect(ofUser.used.tokens_today).toBe(
      usage.input_tokens +
        usage.output_tokens +
        usage.cache_creation_input_tokens +
        usage.cache_read_input_tokens,
    );
    // The POST was the user's request; the run from the queue is not counted again.
    expect(ofUser.used.requests_this_minute).toBe(1);
  });
});
