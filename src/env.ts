/** The Hono app's bindings and the variables its middleware hands to the routes. */
import type { KeyRecord } from './store/keys';

export type AppEnv = {
  Bindings: Env;
  Variables: {
    /** `req_…`, sent back as the `request-id` header and in every error body. */
    requestId: string;
    /** The authenticated client key (set by `requireApiKey`). */
    apiKey: KeyRecord;
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
