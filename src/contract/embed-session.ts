/**
 * `POST /v1/embed/sessions` (API.md §3): what a site's backend asks for when it renders a
 * page for one visitor, and the claims of the `es_` token it gets back.
 */
import { endUser } from './end-user';
import { origin } from './origin';
import * as z from './zod';

/** Default and longest life of a token (API.md §2: 15 minutes, at most an hour). */
export const DEFAULT_TTL_SECONDS = 900;
const MAX_TTL_SECONDS = 3600;

const limit = z.int().check(z.positive(), z.maximum(1_000_000_000_000));
const tokenLimits = z.strictObject({
  requests_per_minute: z.optional(limit),
  concurrent_streams: z.optional(limit),
  tokens_per_day: z.optional(limit),
});

export const embedSessionRequest = z.strictObject({
  origin,
  user: z.optional(endUser),
  ttl_seconds: z.optional(
    z
      .int('must be a whole number of seconds')
      .check(
        z.minimum(1, 'must be at least 1'),
        z.maximum(MAX_TTL_SECONDS, `must be at most ${MAX_TTL_SECONDS} (an hour)`),
      ),
  ),
  limits: z.optional(tokenLimits),
});

/** What an `es_` token says, signed: never anything secret (the holder can read it). */
export const embedClaims = z.object({
  /** The token's own id (its limits are counted under it when it names no end user). */
  id: z.string(),
  /** The minting key's id. */
  k: z.string(),
  /** The one page origin it is good for. */
  o: z.string(),
  /** The end user it is bound to. */
  u: z.optional(z.string()),
  /** Expiry, epoch seconds. */
  exp: z.number(),
  /** Limits narrower than the key's, if the site asked for them. */
  l: z.optional(tokenLimits),
});

export type EmbedClaims = z.infer<typeof embedClaims>;
