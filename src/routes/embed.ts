/**
 * `GET /embed.js`: the chat box's script (src/embed/widget.js) for host pages, no auth. Its
 * version is the first 16 hex digits of its SHA-256, sent as the ETag: `/embed.js` is cached
 * for 5 minutes and revalidated with a 304, so a deploy reaches every page within minutes;
 * `/embed.js?v=<version>` is that exact file, cached for good (a `v` that is not the current
 * version gets the current file with the short lifetime, so an old pinned tag keeps working).
 */
import { Hono } from 'hono';
import widget from '../embed/widget.js';
import type { AppEnv } from '../env';
import { sha256Hex } from '../lib/crypto';

let version: Promise<string> | undefined;

/** The widget's content hash, computed once per isolate. */
function widgetVersion(): Promise<string> {
  version ??= sha256Hex(widget).then((hex) => hex.slice(0, 16));
  return version;
}

/** Whether an `If-None-Match` list names this ETag (weak or strong, or `*`). */
function matches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  return ifNoneMatch.split(',').some((tag) => {
    const t = tag.trim();
    return t === '*' || t.replace(/^W\//, '') === etag;
  });
}

export const embed = new Hono<AppEnv>();

embed.get('/embed.js', async (c) => {
  const current = await widgetVersion();
  const etag = `"${current}"`;
  const headers = {
    'Content-Type': 'text/javascript; charset=utf-8',
    'Cache-Control':
      c.req.query('v') === current ? 'public, max-age=31536000, immutable' : 'public, max-age=300',
    ETag: etag,
    'X-Content-Type-Options': 'nosniff',
    // Any page may load it, also one that isolates itself (COEP) or checks its integrity (SRI
    // needs CORS): it is public and carries nothing of anyone's.
    'Cross-Origin-Resource-Policy': 'cross-origin',
    'Access-Control-Allow-Origin': '*',
  };
  if (matches(c.req.header('if-none-match'), etag)) return c.body(null, 304, headers);
  return c.body(widget, 200, headers);
});
