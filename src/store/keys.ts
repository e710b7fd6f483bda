/**
 * Client API keys. A key is shown once, at creation; KV keeps only its SHA-256, so a leaked
 * KV dump cannot be replayed as credentials. Key scheme: docs/storage-schema.md.
 */
import type { Limits } from '../contract/usage';
import { randomToken, sha256Hex } from '../lib/crypto';
import { allowOrigins, disallowOrigins } from './origins';

type KeyKind = 'secret' | 'publishable';

interface KeyLimits extends Partial<Limits> {
  /** For each end user (a request's `user`) on their own; unset ones are not enforced. */
  per_user?: Partial<Limits>;
}

/** Latency levers for this key's turns (see anthropic/latency.ts). */
interface KeyLatency {
  speed?: 'standard' | 'fast';
  service_tier?: 'auto' | 'standard_only';
  /** Whether a request may set `speed` / `service_tier` itself. */
  client_may_choose?: boolean;
}

export interface KeyRecord {
  id: string;
  name: string;
  kind: KeyKind;
  /** Origins a publishable key is accepted from (exact `scheme://host[:port]`). */
  allowed_origins: string[];
  /** Per-key limits; unset fields take the operator defaults. `per_user` has no defaults. */
  limits: KeyLimits;
  /** Prompt-cache TTL for this key's turns; unset: the operator's PROMPT_CACHE_TTL. */
  prompt_cache_ttl?: '5m' | '1h' | 'off';
  latency?: KeyLatency;
  /** Signs job callbacks (Standard Webhooks); secret keys only. */
  webhook_secret?: string;
  /** The secret before the last rotation, which still signs too until `until` (ISO 8601). */
  previous_webhook_secret?: { secret: string; until: string };
  /** First characters of the key, to tell keys apart in listings. */
  prefix: string;
  created_at: string;
}

export interface NewKey {
  name: string;
  kind: KeyKind;
  allowed_origins?: string[];
  limits?: KeyLimits;
  prompt_cache_ttl?: '5m' | '1h' | 'off';
  latency?: KeyLatency;
}

const byHash = (hash: string) => `key:${hash}`;
const byId = (id: string) => `keyid:${id}`;

export async function createKey(kv: KVNamespace, input: NewKey) {
  const key = `${input.kind === 'secret' ? 'sk' : 'pk'}_${randomToken(32)}`;
  const hash = await sha256Hex(key);
  const record: KeyRecord = {
    id: `key_${randomToken(12)}`,
    name: input.name,
    kind: input.kind,
    allowed_origins: input.allowed_origins ?? [],
    limits: input.limits ?? {},
    ...(input.prompt_cache_ttl ? { prompt_cache_ttl: input.prompt_cache_ttl } : {}),
    ...(input.latency ? { latency: input.latency } : {}),
    ...(input.kind === 'secret' ? { webhook_secret: `whsec_${randomBase64(32)}` } : {}),
    prefix: key.slice(0, 10),
    created_at: new Date().toISOString(),
  };
  await Promise.all([
    kv.put(byHash(hash), JSON.stringify(record)),
    kv.put(byId(record.id), hash),
    record.kind === 'publishable' ? allowOrigins(kv, record.id, record.allowed_origins) : null,
  ]);
  return { record, key };
}

/**
 * Key records read recently in this isolate. Every request needs its key before anything
 * else, and a KV read on that path costs the first text token time on every turn; a record
 * changes only by a webhook-secret rotation, which the request path does not read (job
 * deliveries read the record afresh), so only revocation needs care: it clears the entry here at
 * once, and other isolates drop theirs within KEY_CACHE_MS (KV itself takes up to 60 s to
 * show a delete in other locations). Unknown keys are not remembered: a wrong key is
 * answered from KV every time, so a key created a moment ago works at once.
 */
const KEY_CACHE_MS = 30_000;
const KEY_CACHE_MAX = 10_000;
const recent = new Map<string, { record: KeyRecord; until: number }>();
const recentById = new Map<string, { record: KeyRecord; until: number }>();

export async function findKey(kv: KVNamespace, key: string): Promise<KeyRecord | null> {
  const hash = await sha256Hex(key);
  const cached = recent.get(hash);
  if (cached && cached.until > Date.now()) return cached.record;
  const record = await kv.get<KeyRecord>(byHash(hash), 'json');
  recent.delete(hash);
  if (record) {
    // Map order is insertion order: the first entry is the oldest.
    if (recent.size >= KEY_CACHE_MAX) recent.delete(recent.keys().next().value!);
    recent.set(hash, { record, until: Date.now() + KEY_CACHE_MS });
  }
  return record;
}

/**
 * A key's record by id, for a request that names its key by id (an `es_` token names the key
 * that minted it): cached like `findKey`, so the request path reads nothing in the common
 * case, and dropped at once here when the key is revoked.
 */
export async function findLiveKeyById(kv: KVNamespace, id: string): Promise<KeyRecord | null> {
  const cached = recentById.get(id);
  if (cached && cached.until > Date.now()) return cached.record;
  const record = await findKeyById(kv, id);
  recentById.delete(id);
  if (record) {
    if (recentById.size >= KEY_CACHE_MAX) recentById.delete(recentById.keys().next().value!);
    recentById.set(id, { record, until: Date.now() + KEY_CACHE_MS });
  }
  return record;
}

/** Public view of a key record: never a webhook secret. */
export function publicKey(record: KeyRecord) {
  const { webhook_secret: _secret, previous_webhook_secret: _previous, ...rest } = record;
  return rest;
}

/** A key's record by its id (`key_…`), as deliveries need it: never cached, so a revocation shows. */
export async function findKeyById(kv: KVNamespace, id: string): Promise<KeyRecord | null> {
  const hash = await kv.get(byId(id));
  return hash ? kv.get<KeyRecord>(byHash(hash), 'json') : null;
}

/** The secrets that sign a callback now: the current one, and the previous one in its window. */
export function webhookSecrets(record: KeyRecord, now = Date.now()): string[] {
  const previous = record.previous_webhook_secret;
  return [
    ...(record.webhook_secret ? [record.webhook_secret] : []),
    ...(previous && Date.parse(previous.until) > now ? [previous.secret] : []),
  ];
}

/**
 * A new webhook secret for a secret key; the old one keeps signing (next to the new one) for
 * `graceSeconds`, so receivers can switch without losing a callback. Null for no such key.
 */
export async function rotateWebhookSecret(
  kv: KVNamespace,
  id: string,
  graceSeconds: number,
): Promise<KeyRecord | null> {
  const hash = await kv.get(byId(id));
  const record = hash ? await kv.get<KeyRecord>(byHash(hash), 'json') : null;
  if (!hash || !record || record.kind !== 'secret') return null;
  const rotated: KeyRecord = {
    ...record,
    webhook_secret: `whsec_${randomBase64(32)}`,
    ...(record.webhook_secret
      ? {
          previous_webhook_secret: {
            secret: record.webhook_secret,
            until: new Date(Date.now() + graceSeconds * 1000).toISOString(),
          },
        }
      : {}),
  };
  await kv.put(byHash(hash), JSON.stringify(rotated));
  recent.delete(hash);
  // A revocation between the read and the write above must win: take the record back out.
  if (!(await kv.get(byId(id)))) {
    await kv.delete(byHash(hash));
    return null;
  }
  return rotated;
}

export async function listKeys(kv: KVNamespace): Promise<KeyRecord[]> {
  const records: KeyRecord[] = [];
  let cursor: string | undefined;
  do {
    const page = await kv.list({ prefix: 'keyid:', cursor });
    const found = await Promise.all(
      page.keys.map(async ({ name }) => {
        const hash = await kv.get(name);
        return hash ? kv.get<KeyRecord>(byHash(hash), 'json') : null;
      }),
    );
    for (const r of found) if (r) records.push(r);
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor);
  return records.sort((a, b) => a.created_at.localeCompare(b.created_at));
}

export async function deleteKey(kv: KVNamespace, id: string): Promise<boolean> {
  const hash = await kv.get(byId(id));
  if (!hash) return false;
  recent.delete(hash);
  recentById.delete(id);
  const record = await kv.get<KeyRecord>(byHash(hash), 'json');
  await Promise.all([
    kv.delete(byHash(hash)),
    kv.delete(byId(id)),
    record?.kind === 'publishable' ? disallowOrigins(kv, id, record.allowed_origins) : null,
  ]);
  return true;
}

function randomBase64(bytes: number): string {
  const buf = crypto.getRandomValues(new Uint8Array(bytes));
  return btoa(String.fromCharCode(...buf));
}
