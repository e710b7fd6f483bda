/** The Hono app's bindings and the variables its middleware hands to the routes. */
import type { EmbedClaims } from './contract/embed-session';
import type { KeyRecord } from './store/keys';

/** Who is calling, as `requireApiKey` found out: what a request may do follows from it. */
interface Caller {
  /**
   * `secret`: a server. `publishable` (a `pk_` key) and `embed` (an `es_` token): a web page,
   * accepted only from its origin, limited per client IP, never running jobs.
   */
  kind: 'secret' | 'publishable' | 'embed';
  /**
   * Whose conversations it reaches: the key's id, or for a token bound to an end user the
   * key's id and that user's, so that one user's token never reaches another's.
   */
  scope: string;
  /** The page origin it was accepted from (web callers). */
  origin?: string;
  /** An `es_` token's claims. */
  token?: EmbedClaims;
}

export type AppEnv = {
  Bindings: Env;
  Variables: {
    /** `req_…`, sent back as the `request-id` header and in every error body. */
    requestId: string;
    /** The authenticated client key (set by `requireApiKey`); for an `es_` token, the key that minted it. */
    apiKey: KeyRecord;
    caller: Caller;
    /** When the request arrived (ms), for time-to-first-text. */
    startedAt: number;
    /** Extra fields for the request's log line (conversation id, error type). */
    log: Record<string, unknown>;
    /**
     * An `Idempotency-Key` claimed for this request and not yet answered: whoever produces
     * the answer stores it (middleware/idempotency.ts).
     */
    idempotencyKey?: string;
  };
};
