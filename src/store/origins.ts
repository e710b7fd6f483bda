/**
 * Which web origins the service answers CORS preflights for: those some live publishable key
 * allows. A preflight carries no credentials, so it cannot be judged by a key; this index
 * lets it be judged by the origin alone, with one (edge-cached) KV read.
 *
 * `origin:<origin>` → `{"keys":["key_…",…]}`, written when a publishable key is minted or
 * revoked. Those are rare admin calls; two at the same moment for the same origin could lose
 * one id (KV is last-writer-wins), which only makes preflights for that origin fail until
 * the next mint or revoke for it rewrites the entry.
 */

interface OriginEntry {
  keys: string[];
}

const byOrigin = (origin: string) => `origin:${origin}`;
/** A new key's origin shows in other locations within KV's own propagation; this is ours. */
const CACHE_SECONDS = 60;

export async function originAllowed(kv: KVNamespace, origin: string): Promise<boolean> {
  const entry = await kv.get<OriginEntry>(byOrigin(origin), {
    type: 'json',
    cacheTtl: CACHE_SECONDS,
  });
  return (entry?.keys.length ?? 0) > 0;
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
  if (keys.length === 0) await kv.delete(byOrigin(origin));
  else await kv.put(byOrigin(origin), JSON.stringify({ keys }));
}
