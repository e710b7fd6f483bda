import { describe, expect, it } from 'vitest';
import { call, createKey } from '../helpers/api';

async function gzipSize(body: string): Promise<number> {
  const stream = new Blob([body]).stream().pipeThrough(new CompressionStream('gzip'));
  return (await new Response(stream).arrayBuffer()).byteLength;
}

describe('GET /embed.js', () => {
  it('serves the chat box as JavaScript without auth, cached 5 minutes under its content hash', async () => {
    const res = await call('/embed.js');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('public, max-age=300');
    expect(res.headers.get('etag')).toMatch(/^"[0-9a-f]{16}"$/);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const body = await res.text();
    expect(body).toContain('attachShadow');
    const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(body));
    const hex = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
    expect(res.headers.get('etag')).toBe(`"${hex.slice(0, 16)}"`);
  });

  it('answers 304 with no body when If-None-Match names the current version', async () => {
    const etag = (await call('/embed.js')).headers.get('etag')!;
    for (const ifNoneMatch of [etag, `W/${etag}`, `"0000000000000000", ${etag}`]) {
      const res = await call('/embed.js', { headers: { 'if-none-match': ifNoneMatch } });
      expect(res.status, ifNoneMatch).toBe(304);
      expect(await res.text()).toBe('');
      expect(res.headers.get('etag')).toBe(etag);
      expect(res.headers.get('cache-control')).toBe('public, max-age=300');
    }
    const stale = await call('/embed.js', { headers: { 'if-none-match': '"0000000000000000"' } });
    expect(stale.status).toBe(200);
  });

  it('caches /embed.js?v=<current version> for a year, and an outdated v only for 5 minutes', async () => {
    const version = (await call('/embed.js')).headers.get('etag')!.replaceAll('"', '');
    const pinned = await call(`/embed.js?v=${version}`);
    expect(pinned.status).toBe(200);
    expect(pinned.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    const outdated = await call('/embed.js?v=0000000000000000');
    expect(outdated.status).toBe(200);
    expect(outdated.headers.get('cache-control')).toBe('public, max-age=300');
    expect(await outdated.text()).toBe(await pinned.text());
  });

  it('may be loaded by any page, also a cross-origin-isolated one or one that checks its integrity', async () => {
    const res = await call('/embed.js', { headers: { origin: 'https://shop.example' } });
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('cross-origin-resource-policy')).toBe('cross-origin');
  });

  it('is at most 10 KiB gzipped', async () => {
    const size = await gzipSize(await (await call('/embed.js')).text());
    expect(size).toBeLessThanOrEqual(10 * 1024);
  });

  it('holds no key or token: the page supplies its own', async () => {
    const { key } = await createKey({
      kind: 'publishable',
      allowed_origins: ['https://shop.example'],
    });
    const body = await (await call('/embed.js')).text();
    expect(body).not.toContain(key);
    expect(body).not.toMatch(/\b(sk|pk|es)_[A-Za-z0-9]{16,}/);
    expect(body).not.toMatch(/test-admin-token|sk-ant-/);
  });

  it('is described in /openapi.json', async () => {
    const spec = (await (await call('/openapi.json')).json()) as any;
    expect(spec.paths['/embed.js'].get.responses).toHaveProperty('304');
  });
});
