/**
 * Retry delays for queued work (jobs, callback deliveries): about 1 s, 10 s and 60 s for the
 * first tries, then growing to hours, each with ±20 % jitter so that retries that failed
 * together do not come back together. A `Retry-After` from the other side wins, within the
 * longest delay a queue takes (12 h).
 */

/** Cloudflare Queues' longest `delaySeconds`. */
const MAX_DELAY_SECONDS = 12 * 3600;

const SCHEDULE = [1, 10, 60, 300, 1800, 3600, 7200, 14_400, 28_800, MAX_DELAY_SECONDS];

/** The delay before try `attempt + 1`, after try `attempt` (1-based) failed. */
export function backoffSeconds(attempt: number, retryAfter?: number, random = Math.random): number {
  if (retryAfter !== undefined && Number.isFinite(retryAfter) && retryAfter > 0) {
    return Math.min(Math.ceil(retryAfter), MAX_DELAY_SECONDS);
  }
  const base = SCHEDULE[Math.min(Math.max(attempt, 1), SCHEDULE.length) - 1]!;
  const jittered = base * (0.8 + 0.4 * random());
  return Math.min(Math.max(1, Math.round(jittered)), MAX_DELAY_SECONDS);
}

/** A `Retry-After` header's seconds (delta-seconds or an HTTP date), if it has a usable one. */
export function retryAfterSeconds(
  header: string | null | undefined,
  now = Date.now(),
): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return seconds > 0 ? seconds : undefined;
  const at = Date.parse(header);
  return Number.isFinite(at) && at > now ? (at - now) / 1000 : undefined;
}
