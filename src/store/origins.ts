/**
 * Which web origins the service answers CORS preflights for: those some live publishable key
 * allows, and those an embed session token was minted for lately. A preflight carries no
 * credentials, so it cannot be judged by a key; this index lets it be judged by the origin
 * alone, with one (edge-cached) KV read.
 *
 * `origin:<origin>` → `{"keys":["key_…",…],"tokens_until":<epoch ms>?}`, written when a
 * publishable key is minted or revoked, and when a token is minted for an origin whose
 * `tokens_until` would not cover it (pushed an hour ahead, so a site minting a token per
 * page view writes about once an hour, not once a view). Key writes are rare admin calls;
 * two at the same moment for the same origin could lose one (KV is last-writer-wins), which
 * only makes preflights for that origin fail until the next write for it.
 */

interface OriginEntry {
  keys: string[];
  tokens_until?: number;
}

const TOKEN_WINDOW_MS = 3_600_000;

const byOrigin = (origin: string) => `origin:${origin}`;
/** A new key's origin shows in other locations within KV's own propagation; this is ours. */
const CACHE_SECONDS = 60;

export async function originAllowed(kv: KVNamespace, origin: string): Promise<boolean> {
  const entry = await kv.get<OriginEntry>(byOrigin(origin), {
    type: 'json',
    cacheTtl: CACHE_SECONDS,
  });
  return (entry?.keys.length ?? 0) > 0 || (entry?.tokens_until ?? 0) > Date.now();
}

/** Keeps preflights answered for a token's origin until at least `expiresAt`. */
export async function allowTokenOrigin(kv: KVNamespace, origin: string, expiresAt: number) {
  const entry = await kv.get<OriginEntry>(byOrigin(origin), 'json');
  if ((entry?.tokens_until ?? 0) >= expiresAt) return;
  await kv.put(
    byOrigin(origin),
    JSON.stringify({ keys: entry?.keys ?? [], tokens_until: Date.now() + TOKEN_WINDOW_MS }),
  );
}

export async function allowOrigins(kv: KVNamespace, keyId: string, origins: readonly string[]) {
  await Promise.all(
    origins.map((origin) =>
      update(kv, origin, (keys) => (keys.includes(keyId) ? keys : [...keys, keyId])),
    ),
  );
}

export async function disallowOrigins(kv: KVNamespace, keyId: string, origins: readonly string[]) {
  await Promise.all(
    origins.map((origin) => update(kv, origin, (keys) => keys.filter((id) => id !== keyId))),
  );
}

async function update(kv: KVNamespace, origin: string, change: (keys: string[]) => string[]) {
  const entry = await kv.get<OriginEntry>(byOrigin(origin), 'json');
  const keys = change(entry?.keys ?? []);
  const tokensUntil = entry?.tokens_until ?? 0;
  if (keys.length === 0 && tokensUntil <= Date.now()) await kv.delete(byOrigin(origin));
  else
    await kv.put(
      byOrigin(origin),
      JSON.stringify({ keys, ...(tokensUntil > Date.now() ? { tokens_until: tokensUntil } : {}) }),
    );
}
