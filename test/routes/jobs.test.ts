import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, auth, call, createKey, expectError } from '../helpers/api';
import { receiver } from '../helpers/receiver';
import { awayFromMinuteBoundary, until } from '../helpers/time';
import { messagesCallsSince, upstream } from '../helpers/upstream';

function postJob(key: string, body: Record<string, unknown>, headers: Record<string, string> = {}) {
  return call('/v1/jobs', { method: 'POST', headers: { ...auth(key), ...headers }, json: body });
}

async function job(key: string, id: string) {
  return (await (await call(`/v1/jobs/${id}`, { headers: auth(key) })).json()) as any;
}

async function ended(key: string, id: string, ms = 15_000) {
  let last: any;
  await until(async () => {
    last = await job(key, id);
    return last.status === 'succeeded' || last.status === 'failed';
  }, ms);
  return last;
}

describe('POST /v1/jobs', () => {
  it('answers 202 queued at once, runs the turn from the queue, and delivers the result signed per Standard Webhooks', async () => {
    const { key, webhook_secret } = await createKey();
    const url = receiver.endpoint();
    const res = await postJob(key, { message: 'Summarise the sky', callback_url: url });
    expect(res.status).toBe(202);
    const queued = (await res.json()) as any;
    expect(queued).toMatchObject({ status: 'queued' });
    expect(queued.job_id).toMatch(/^job_/);

    const done = await ended(key, queued.job_id);
    expect(done.status).toBe('succeeded');
    expect(done.result).toMatchObject({ turn: 1, stop_reason: 'end_turn' });
    expect(done.result.content[0].type).toBe('text');
    expect(done.result.conversation_id).toBe(done.conversation_id);

    await until(async () => receiver.at(url).length === 1);
    const [callback] = receiver.at(url);
    // The reference library verifies the signature (it throws otherwise).
    const payload = new Webhook(webhook_secret!).verify(callback!.body, callback!.headers) as any;
    expect(callback!.headers['webhook-id']).toBe(queued.job_id);
    expect(payload).toMatchObject({ job_id: queued.job_id, status: 'succeeded' });
    expect(payload.result).toEqual(done.result);
    await until(async () => (await job(key, queued.job_id)).deliveries.length === 1);
    expect((await job(key, queued.job_id)).deliveries[0]).toMatchObject({ status: 200 });

    // The conversation holds the turn, as a /v1/chat turn would have stored it.
    const t = (await (
      await call(`/v1/conversations/${done.conversation_id}`, { headers: auth(key) })
    ).json()) as any;
    expect(t.turns).toBe(1);
  });

  it('refuses what it can judge now with a 4xx, before anything is queued or Claude is called', async () => {
    const { key } = await createKey();
    const before = upstream.requests.length;
    await expectError(
      await postJob(key, { message: 'x', stream: true }),
      400,
      'invalid_request_error',
    );
    await expectError(
      await postJob(key, { conversation_id: 'c_doesnotexist00000000', message: 'x' }),
      404,
      'not_found_error',
    );
    // A thinking form the model refuses: a manual budget on Opus 4.7.
    await expectError(
      await postJob(key, {
        message: 'x',
        thinking: { budget_tokens: 2000 },
        model: 'claude-opus-4-7',
      }),
      400,
      'invalid_request_error',
    );
    expect(messagesCallsSince(before)).toHaveLength(0);
  });

  it.each([
    ['plain http', 'http://hooks.example.com/x'],
    ['credentials', 'https://user:pw@hooks.example.com/x'],
    ['an odd port', 'https://hooks.example.com:8443/x'],
    ['a dotted IPv4 literal', 'https://127.0.0.1/x'],
    ['a decimal IPv4 literal', 'https://2130706433/x'],
    ['a hex IPv4 literal', 'https://0x7f000001/x'],
    ['an octal IPv4 literal', 'https://0177.0.0.1/x'],
    ['a private IPv4 literal', 'https://10.0.0.8/x'],
    ['an IPv4-mapped IPv6 literal', 'https://[::ffff:127.0.0.1]/x'],
    ['an IPv6 literal', 'https://[fe80::1]/x'],
    ['localhost', 'https://localhost/x'],
    ['a .localhost name', 'https://api.localhost/x'],
    ['a .internal name', 'https://metadata.google.internal/x'],
    ['a single-label name', 'https://intranet/x'],
    ['not a URL', 'hooks'],
  ])('refuses a callback_url with %s (400, nothing queued, nothing fetched)', async (_, url) => {
    const { key } = await createKey();
    const before = upstream.requests.length;
    const res = await postJob(key, { message: 'x', callback_url: url });
    expect((await expectError(res, 400, 'invalid_request_error')).message).toMatch(/callback_url/);
    expect(messagesCallsSince(before)).toHaveLength(0);
  });

  it('counts an accepted job once in the minute window, its turn not again, and a refused one not at all', async () => {
    await awayFromMinuteBoundary();
    const { key } = await createKey();
    const used = async () =>
      ((await (await call('/v1/usage', { headers: auth(key) })).json()) as any).used
        .requests_this_minute as number;
    const start = await used(); // the usage call counts itself
    await expectError(
      await postJob(key, { conversation_id: 'c_doesnotexist00000000', message: 'x' }),
      404,
      'not_found_error',
    );
    expect(await used()).toBe(start + 1);
    const before = upstream.requests.length;
    expect((await postJob(key, { message: 'x' })).status).toBe(202);
    // The job's turn has been admitted once Claude is called.
    await until(async () => messagesCallsSince(before).length === 1);
    // The 404's usage call, the POST, and this usage call: never the turn.
    expect(await used()).toBe(start + 3);
  });

  it('is for secret keys only: a publishable key gets 403', async () => {
    const { key } = await createKey({
      kind: 'publishable',
      allowed_origins: ['https://app.example.com'],
    });
    const res = await call('/v1/jobs', {
      method: 'POST',
      headers: { ...auth(key), origin: 'https://app.example.com' },
      json: { message: 'x' },
    });
    await expectError(res, 403, 'permission_error');
  });

  it('shows another key a 404 for a job that is not its own', async () => {
    const { key } = await createKey();
    const other = await createKey();
    const { job_id } = (await (await postJob(key, { message: 'mine' })).json()) as any;
    const res = await call(`/v1/jobs/${job_id}`, { headers: auth(other.key) });
    await expectError(res, 404, 'not_found_error');
    await expectError(
      await call('/v1/jobs/job_nonsense', { headers: auth(key) }),
      404,
      'not_found_error',
    );
  });

  it('replays the same job for the same Idempotency-Key and body', async () => {
    const { key } = await createKey();
    const idem = { 'idempotency-key': crypto.randomUUID() };
    const first = await postJob(key, { message: 'once' }, idem);
    const again = await postJob(key, { message: 'once' }, idem);
    expect(first.status).toBe(202);
    expect(again.status).toBe(202);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(((await again.json()) as any).job_id).toBe(((await first.json()) as any).job_id);
  });
});

describe('jobs on one conversation', () => {
  it('run one after another in the order they were posted, each continuing the last', async () => {
    const { key } = await createKey();
    const first = (await (
      await call('/v1/chat', {
        method: 'POST',
        headers: auth(key),
        json: { message: 'start' },
      })
    ).json()) as any;
    const ids: string[] = [];
    for (const n of [1, 2, 3]) {
      const res = await postJob(key, {
        conversation_id: first.conversation_id,
        message: `job ${n}`,
      });
      expect(res.status).toBe(202);
      ids.push(((await res.json()) as any).job_id);
    }
    const results = [];
    for (const id of ids) results.push(await ended(key, id));
    expect(results.map((j) => j.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(results.map((j) => j.result.turn)).toEqual([2, 3, 4]);
    const t = (await (
      await call(`/v1/conversations/${first.conversation_id}`, { headers: auth(key) })
    ).json()) as any;
    expect(t.messages.filter((m: any) => m.role === 'user').map((m: any) => m.content)).toEqual([
      'start',
      'job 1',
      'job 2',
      'job 3',
    ]);
  });
});

describe('callbacks', () => {
  it('retries a receiver that fails, with the same webhook-id each time, and stops after its first 2xx', async () => {
    const { key } = await createKey();
    const busy = () => new Response('busy', { status: 503, headers: { 'retry-after': '1' } });
    const url = receiver.endpoint([busy, busy]);
    const { job_id } = (await (
      await postJob(key, { message: 'x', callback_url: url })
    ).json()) as any;
    await until(async () => receiver.at(url).length === 3, 15_000);
    expect(new Set(receiver.at(url).map((r) => r.headers['webhook-id']))).toEqual(
      new Set([job_id]),
    );
    // The same body every time.
    expect(new Set(receiver.at(url).map((r) => r.body)).size).toBe(1);
    const { deliveries } = await job(key, job_id);
    expect(deliveries.map((d: any) => d.status)).toEqual([503, 503, 200]);
    expect(deliveries[0].next_try_at).toBeDefined();
    expect(deliveries[2].next_try_at).toBeUndefined();
    await new Promise((r) => setTimeout(r, 2500));
    expect(receiver.at(url)).toHaveLength(3);
  });

  it('signs with the old and the new secret during a rotation', async () => {
    const { id, key, webhook_secret: old } = await createKey();
    const rotated = await call(`/admin/keys/${id}/webhook-secret`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(rotated.status).toBe(200);
    const { webhook_secret: fresh, previous_webhook_secret_expires_at } =
      (await rotated.json()) as any;
    expect(fresh).toMatch(/^whsec_/);
    expect(fresh).not.toBe(old);
    expect(Date.parse(previous_webhook_secret_expires_at)).toBeGreaterThan(Date.now());
    const url = receiver.endpoint();
    await postJob(key, { message: 'x', callback_url: url });
    await until(async () => receiver.at(url).length === 1);
    const [callback] = receiver.at(url);
    expect(callback!.headers['webhook-signature']!.split(' ')).toHaveLength(2);
    expect(() => new Webhook(fresh).verify(callback!.body, callback!.headers)).not.toThrow();
    expect(() => new Webhook(old!).verify(callback!.body, callback!.headers)).not.toThrow();
  });
});
