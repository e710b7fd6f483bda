/**
 * `es_` embed session tokens: minted by a site's backend with its secret key for one page
 * origin (and optionally one end user), short-lived, and verified at the edge by their
 * signature alone. Revocation still works because every use also needs the minting key's
 * record (store/keys.ts `findLiveKeyById`, kept in the isolate like any key's): revoking the
 * key ends its tokens with it, here at once and elsewhere within the key cache's 30 s.
 *
 * Signed with `EMBED_TOKEN_SECRET`, or, when the operator has not set one, with a secret
 * derived from `ADMIN_TOKEN` (only someone holding the admin token could forge either).
 * Rotating the secret ends every token in flight; pages renew theirs through
 * `data-token-url`.
 */
import { type EmbedClaims, embedClaims } from '../contract/embed-session';
import { signToken, verifyToken } from '../lib/signed-token';

const PREFIX = 'es_';

/** The shape of a token before its signature is checked: cheap to refuse junk. */
const EMBED_TOKEN = /^es_[A-Za-z0-9_-]{20,2048}\.[A-Za-z0-9_-]{43}$/;

function secretOf(env: Env): string | null {
  if (env.EMBED_TOKEN_SECRET) return env.EMBED_TOKEN_SECRET;
  return env.ADMIN_TOKEN ? `thinking-edge embed tokens v1\n${env.ADMIN_TOKEN}` : null;
}

/** Null when the operator has set neither secret: then no token can be minted or read. */
export async function mintEmbedToken(env: Env, claims: EmbedClaims): Promise<string | null> {
  const secret = secretOf(env);
  return secret ? signToken(PREFIX, secret, claims) : null;
}

/** The token's claims when it is ours and intact (expiry is the caller's to judge). */
export async function readEmbedToken(env: Env, token: string): Promise<EmbedClaims | null> {
  const secret = secretOf(env);
  if (!secret || !EMBED_TOKEN.test(token)) return null;
  const parsed = embedClaims.safeParse(await verifyToken(PREFIX, secret, token));
  return parsed.success ? parsed.data : null;
}
