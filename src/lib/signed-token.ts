/**
 * Compact signed tokens: `<prefix><base64url JSON claims>.<base64url HMAC-SHA256>`. Checked
 * with the secret alone — no storage read — which is what lets a short-lived credential be
 * verified on the request path for free. Not encrypted: the claims are readable by whoever
 * holds the token, so they hold nothing secret.
 */

const encoder = new TextEncoder();
const keys = new Map<string, Promise<CryptoKey>>();

function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey(
      'raw',
      encoder.encode(secret),
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['sign', 'verify'],
    );
    keys.set(secret, key);
  }
  return key;
}

function toBase64Url(bytes: Uint8Array): string {
  let text = '';
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64Url(text: string): Uint8Array | null {
  try {
    const bin = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
    return Uint8Array.from(bin, (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}

export async function signToken(prefix: string, secret: string, claims: object): Promise<string> {
  const body = toBase64Url(encoder.encode(JSON.stringify(claims)));
  const mac = await crypto.subtle.sign('HMAC', await hmacKey(secret), encoder.encode(body));
  return `${prefix}${body}.${toBase64Url(new Uint8Array(mac))}`;
}

/** The token's claims when its signature is good (a constant-time check), else null. */
export async function verifyToken(
  prefix: string,
  secret: string,
  token: string,
): Promise<unknown | null> {
  if (!token.startsWith(prefix)) return null;
  const [body, mac, extra] = token.slice(prefix.length).split('.');
  if (!body || !mac || extra !== undefined) return null;
  const signature = fromBase64Url(mac);
  if (!signature) return null;
  const good = await crypto.subtle.verify(
    'HMAC',
    await hmacKey(secret),
    signature,
    encoder.encode(body),
  );
  if (!good) return null;
  const claims = fromBase64Url(body);
  try {
    return claims ? JSON.parse(new TextDecoder().decode(claims)) : null;
  } catch {
    return null;
  }
}
