import { describe, expect, it } from 'vitest';
import { call, expectError } from '../helpers/api';

describe('flood filter (Rate Limiting binding)', () => {
  it('slows down an address that keeps failing authentication', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 130; i++) {
      const res = await call('/v1/usage', {
        headers: { authorization: 'Bearer sk_wrong', 'cf-connecting-ip': '192.0.2.99' },
      });
      statuses.push(res.status);
      if (res.status === 429) {
        await expectError(res, 429, 'rate_limit_error');
        break;
      }
    }
    expect(statuses[0]).toBe(401);
    expect(statuses.at(-1)).toBe(429);
    // Another address is not affected.
    await expectError(
      await call('/v1/usage', {
        headers: { authorization: 'Bearer sk_wrong', 'cf-connecting-ip': '192.0.2.100' },
      }),
      401,
      'authentication_error',
    );
  });
});
