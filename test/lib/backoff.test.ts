import { describe, expect, it } from 'vitest';
import { backoffSeconds, retryAfterSeconds } from '../../src/lib/backoff';

const middle = () => 0.5; // no jitter
const low = () => 0; // −20 %
const high = () => 0.999_999; // +20 %

describe('backoffSeconds: about 1 s, 10 s, 60 s, then growing to hours, with jitter', () => {
  it.each([
    [1, 1],
    [2, 10],
    [3, 60],
    [4, 300],
    [5, 1800],
    [6, 3600],
    [10, 43_200],
    [50, 43_200],
  ])('after try %i waits %i s (no jitter)', (attempt, seconds) => {
    expect(backoffSeconds(attempt, undefined, middle)).toBe(seconds);
  });

  it('spreads a delay by ±20 %, never under 1 s', () => {
    expect(backoffSeconds(2, undefined, low)).toBe(8);
    expect(backoffSeconds(2, undefined, high)).toBe(12);
    expect(backoffSeconds(1, undefined, low)).toBe(1);
  });

  it.each([
    ['honours a Retry-After', 7, 7],
    ['rounds a fractional one up', 2.2, 3],
    ['caps it at the 12 h a queue can delay', 99_999, 43_200],
    ['ignores a zero one', 0, 10],
  ])('%s', (_, retryAfter, want) => {
    expect(backoffSeconds(2, retryAfter, middle)).toBe(want);
  });
});

describe('retryAfterSeconds', () => {
  const now = Date.parse('2026-12-04T12:00:00Z');
  it.each([
    ['delta-seconds', '30', 30],
    ['an HTTP date', 'Fri, 04 Dec 2026 12:01:00 GMT', 60],
    ['a date in the past', 'Fri, 04 Dec 2026 11:00:00 GMT', undefined],
    ['nothing', null, undefined],
    ['junk', 'soon', undefined],
  ])('reads %s', (_, header, want) => {
    expect(retryAfterSeconds(header, now)).toBe(want);
  });
});
