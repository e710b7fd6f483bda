/** Small Web Crypto helpers shared by keys, ids and admin auth. */

const encoder = new TextEncoder();
const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** `bytes` random bytes as base62 (~5.95 bits a character): URL- and shell-safe ids and keys. */
export function randomToken(bytes: number): string {
  let out = '';
  for (const b of crypto.getRandomValues(new Uint8Array(bytes))) {
    // 62 * 4 = 248: rejecting 248..255 keeps every character equally likely.
    let v = b;
    while (v >= 248) v = crypto.getRandomValues(new Uint8Array(1))[0]!;
    out += ALPHABET[v % 62];
  }
  return out;
}

export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', encoder.encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** Compares two secrets in constant time (over their digests, so lengths may differ). */
export async function secretsEqual(a: string, b: string): Promise<boolean> {
  const [da, db] = await Promise.all([
    crypto.subtle.digest('SHA-256', encoder.encode(a)),
    crypto.subtle.digest('SHA-256', encoder.encode(b)),
  ]);
  return crypto.subtle.timingSafeEqual(da, db);
}
