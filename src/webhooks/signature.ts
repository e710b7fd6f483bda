/**
 * Standard Webhooks v1 signatures: `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, keyed
 * with the bytes of a `whsec_<base64>` secret. Several secrets (during a rotation) give
 * several space-separated signatures, as the spec allows; a receiver accepts any one.
 */

const encoder = new TextEncoder();

export async function signatures(
  secrets: readonly string[],
  id: string,
  timestamp: number,
  body: string,
): Promise<string> {
  const content = encoder.encode(`${id}.${timestamp}.${body}`);
  const signed = await Promise.all(
    secrets.map(async (secret) => {
      const key = await crypto.subtle.importKey(
        'raw',
        secretBytes(secret),
        { name: 'HMAC', hash: 'SHA-256' },
        false,
        ['sign'],
      );
      const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, content));
      return `v1,${btoa(String.fromCharCode(...mac))}`;
    }),
  );
  return signed.join(' ');
}

function secretBytes(secret: string): Uint8Array {
  const base64 = secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret;
  return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
}
