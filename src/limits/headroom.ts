/**
 * Whether a turn may start Claude's call before the key's limiter has answered: the
 * limiter's last verdict seen by the conversation's object left the key (and the request's
 * end user and client IP) far from every limit. The limiter still decides every turn; a turn
 * it refuses has its early call aborted before any byte reaches the client. So this check
 * never changes what is admitted — only how often a refused turn's call was started for
 * nothing, which is why it asks for a wide margin and falls back to asking first near a limit.
 */
import type { Limits, Used, UsageSnapshot } from '../contract/usage';
import type { TurnTicket } from './admission';

/** The limiter's last answer to a turn, and when it came. */
export interface Verdict {
  ok: boolean;
  snapshot: UsageSnapshot;
}

const REMEMBERED = 1000;

/**
 * The limiter's last verdicts seen in this isolate, per key, end user and client IP: every
 * conversation object of a key that runs here reads them, so a new conversation (or one just
 * loaded again) need not wait for its own first verdict. A hint only: what a stale verdict
 * can cost is one early call aborted, never an admission.
 */
export class Verdicts {
  #last = new Map<string, Verdict>();

  get(ticket: TurnTicket): Verdict | undefined {
    return this.#last.get(scope(ticket));
  }

  remember(ticket: TurnTicket, verdict: Verdict): void {
    const id = scope(ticket);
    // Map order is insertion order: the first entry is the one seen longest ago.
    this.#last.delete(id);
    if (this.#last.size >= REMEMBERED) this.#last.delete(this.#last.keys().next().value!);
    this.#last.set(id, verdict);
  }
}

function scope({ keyId, user, ip }: TurnTicket): string {
  return JSON.stringify([keyId, user?.id ?? null, ip?.address ?? null]);
}

/** Below this share of a limit the call starts at once. */
const MARGIN = 0.5;

export function hasHeadroom(
  verdict: Verdict | undefined,
  ticket: TurnTicket,
  estimate: number,
  now: number,
): boolean {
  if (!verdict?.ok) return false;
  const { snapshot } = verdict;
  // Another UTC day: the day's tokens were reset, and the limits may have changed too.
  if (now >= snapshot.resets.day) return false;
  const sameMinute = now < snapshot.resets.minute;
  if (!far(snapshot.used, snapshot.limits, estimate, sameMinute)) return false;
  if (ticket.user) {
    const user = snapshot.user;
    if (!user || user.id !== ticket.user.id) return false;
    if (!far(user.used, user.limits, estimate, sameMinute)) return false;
  }
  if (ticket.ip) {
    const ip = snapshot.ip;
    if (!ip || (sameMinute && ip.used + 1 > ip.limit * MARGIN)) return false;
  }
  return true;
}

/**
 * Far from each limit that is set: the minute's requests (when the verdict's minute is still
 * running), the open streams (the verdict counted the last turn's own, since ended), and the
 * day's tokens with room for twice this turn's estimate.
 */
function far(used: Used, limits: Partial<Limits>, estimate: number, sameMinute: boolean) {
  const { requests_per_minute: rpm, concurrent_streams: streams, tokens_per_day: tokens } = limits;
  if (rpm !== undefined && sameMinute && used.requests_this_minute + 1 > rpm * MARGIN) return false;
  if (streams !== undefined && used.open_streams > streams * MARGIN) return false;
  if (tokens !== undefined && used.tokens_today + 2 * estimate > tokens * MARGIN) return false;
  return true;
}
