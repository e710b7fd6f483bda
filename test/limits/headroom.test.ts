import { describe, expect, it } from 'vitest';
import type { Used, UsageSnapshot } from '../../src/contract/usage';
import type { TurnTicket } from '../../src/limits/admission';
import { hasHeadroom, type Verdict, Verdicts } from '../../src/limits/headroom';

const NOW = Date.UTC(2026, 11, 4, 12, 0, 30);
const used = (over: Partial<Used> = {}): Used => ({
  requests_this_minute: 1,
  open_streams: 1,
  tokens_today: 1000,
  cache_creation_input_tokens_today: 0,
  cache_read_input_tokens_today: 0,
  ...over,
});
const snapshot = (over: Partial<UsageSnapshot> = {}): UsageSnapshot => ({
  limits: { requests_per_minute: 60, concurrent_streams: 4, tokens_per_day: 1_000_000 },
  used: used(),
  resets: { minute: NOW + 30_000, day: Date.UTC(2026, 11, 5) },
  ...over,
});
const ok = (over: Partial<UsageSnapshot> = {}): Verdict => ({ ok: true, snapshot: snapshot(over) });
const ticket: TurnTicket = {
  keyId: 'key_1',
  turnId: 't',
  limits: { requests_per_minute: 60, concurrent_streams: 4, tokens_per_day: 1_000_000 },
};

describe("starting Claude's call before the limiter answers", () => {
  it('does when the last verdict left the key far from every limit', () => {
    expect(hasHeadroom(ok(), ticket, 2000, NOW)).toBe(true);
  });

  it('asks first with no verdict yet, after a refusal, or on another UTC day', () => {
    expect(hasHeadroom(undefined, ticket, 2000, NOW)).toBe(false);
    expect(hasHeadroom({ ...ok(), ok: false }, ticket, 2000, NOW)).toBe(false);
    expect(hasHeadroom(ok(), ticket, 2000, Date.UTC(2026, 11, 5, 0, 0, 1))).toBe(false);
  });

  it("asks first near a limit: the minute's requests, the open streams, the day's tokens", () => {
    expect(hasHeadroom(ok({ used: used({ requests_this_minute: 30 }) }), ticket, 10, NOW)).toBe(
      false,
    );
    expect(hasHeadroom(ok({ used: used({ open_streams: 3 }) }), ticket, 10, NOW)).toBe(false);
    expect(hasHeadroom(ok({ used: used({ tokens_today: 499_000 }) }), ticket, 1000, NOW)).toBe(
      false,
    );
    // Twice the estimate must fit under the margin too.
    expect(hasHeadroom(ok(), ticket, 250_000, NOW)).toBe(false);
  });

  it("forgets the minute's count once that minute is over", () => {
    const busyMinute = ok({ used: used({ requests_this_minute: 59 }) });
    expect(hasHeadroom(busyMinute, ticket, 10, NOW)).toBe(false);
    expect(hasHeadroom(busyMinute, ticket, 10, NOW + 31_000)).toBe(true);
  });

  it("holds the request's end user and client IP to the same margin", () => {
    const user = { id: 'u1', limits: { concurrent_streams: 2 } };
    const withUser: TurnTicket = { ...ticket, user };
    expect(
      hasHeadroom(ok({ user: { ...user, used: used({ open_streams: 1 }) } }), withUser, 10, NOW),
    ).toBe(true);
    expect(
      hasHeadroom(ok({ user: { ...user, used: used({ open_streams: 2 }) } }), withUser, 10, NOW),
    ).toBe(false);
    // A verdict about another end user says nothing about this one.
    expect(
      hasHeadroom(ok({ user: { id: 'u2', limits: {}, used: used() } }), withUser, 10, NOW),
    ).toBe(false);
    const web: TurnTicket = { ...ticket, ip: { address: '203.0.113.9', limit: 10 } };
    expect(hasHeadroom(ok({ ip: { limit: 10, used: 2 } }), web, 10, NOW)).toBe(true);
    expect(hasHeadroom(ok({ ip: { limit: 10, used: 5 } }), web, 10, NOW)).toBe(false);
  });
});

describe("the limiter's last verdicts, shared by a key's conversations", () => {
  it('are kept per key, end user and client IP', () => {
    const verdicts = new Verdicts();
    const user = { id: 'u1', limits: {} };
    const verdict = ok();
    verdicts.remember({ ...ticket, turnId: 'first' }, verdict);
    // Another turn (of any conversation) of the same key reads it.
    expect(verdicts.get({ ...ticket, turnId: 'next' })).toBe(verdict);
    expect(verdicts.get({ ...ticket, keyId: 'key_2' })).toBeUndefined();
    expect(verdicts.get({ ...ticket, user })).toBeUndefined();
    expect(verdicts.get({ ...ticket, ip: { address: '203.0.113.9', limit: 10 } })).toBeUndefined();
    const refused: Verdict = { ...ok(), ok: false };
    verdicts.remember(ticket, refused);
    expect(verdicts.get(ticket)).toBe(refused);
  });

  it('keep the most recently seen thousand', () => {
    const verdicts = new Verdicts();
    for (let i = 0; i <= 1000; i++) verdicts.remember({ ...ticket, keyId: `key_${i}` }, ok());
    expect(verdicts.get({ ...ticket, keyId: 'key_0' })).toBeUndefined();
    expect(verdicts.get({ ...ticket, keyId: 'key_1' })).toBeDefined();
    expect(verdicts.get({ ...ticket, keyId: 'key_1000' })).toBeDefined();
  });
});
