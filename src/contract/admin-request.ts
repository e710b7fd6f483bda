/** The `POST /admin/keys` request body (API.md §3, Admin) as a zod schema. */
import { origin } from './origin';
import * as z from './zod';

const limit = z.int().check(z.positive(), z.maximum(1_000_000_000_000));
const limitFields = {
  requests_per_minute: z.optional(limit),
  concurrent_streams: z.optional(limit),
  tokens_per_day: z.optional(limit),
};
export const newKeyRequest = z.strictObject({
  name: z.string().check(z.trim(), z.minLength(1, 'must not be empty'), z.maxLength(200)),
  kind: z.enum(['secret', 'publishable'], 'kind must be "secret" or "publishable"'),
  allowed_origins: z.optional(z.array(origin).check(z.maxLength(100))),
  limits: z.optional(
    z.strictObject({
      ...limitFields,
      // Each end user (a request's `user`) on their own; a limit not set here is not
      // enforced per end user (there are no defaults), though use is still counted.
      per_user: z.optional(z.strictObject(limitFields)),
    }),
  ),
  prompt_cache_ttl: z.optional(
    z.enum(['5m', '1h', 'off'], 'prompt_cache_ttl must be "5m", "1h" or "off"'),
  ),
  latency: z.optional(
    z.strictObject({
      speed: z.optional(z.enum(['standard', 'fast'])),
      service_tier: z.optional(z.enum(['auto', 'standard_only'])),
      client_may_choose: z.optional(z.boolean()),
    }),
  ),
});

/** `POST /admin/keys/:id/webhook-secret`: how long the old secret still signs (0–7 days). */
export const rotateSecretRequest = z.strictObject({
  grace_seconds: z.optional(z.int().check(z.minimum(0), z.maximum(7 * 86_400))),
});
