/**
 * The SSRF guard for job callbacks (API.md §3), run when a job is created and again before
 * every delivery: `https:` only, no credentials, the default port, and never an IP literal
 * in any encoding or a name that points inside a network (loopback, private, link-local,
 * single-label and reserved names). The WHATWG URL parser already turns every IPv4 spelling
 * (decimal `2130706433`, hex `0x7f.1`, octal `0177.0.0.1`) into a dotted quad and wraps IPv6
 * (`::ffff:127.0.0.1` included) in brackets, so one check of the parsed host refuses them all.
 * A public name that resolves to a private address is not caught here: a Worker's `fetch`
 * cannot reach private networks, and deliveries do not follow redirects.
 */
import { invalid } from '../errors';

/** Names that never denote a public host (RFC 6761, RFC 8375, and common internal zones). */
const INTERNAL_SUFFIXES = [
  '.localhost',
  '.localdomain',
  '.local',
  '.internal',
  '.intranet',
  '.lan',
  '.home',
  '.corp',
  '.home.arpa',
  '.arpa',
  '.test',
  '.invalid',
  '.example',
  '.onion',
];

/**
 * The URL a callback may go to, or the 400 that says what is wrong with it.
 * `allowLoopback` (ALLOW_LOOPBACK_CALLBACKS=1, local development and tests) admits
 * `http://127.0.0.1:PORT/…` and nothing else beyond the rules.
 */
export function checkCallbackUrl(raw: string, allowLoopback: boolean): URL {
  const refuse = (why: string) =>
    invalid(`callback_url: ${why}. Use a public https:// URL, e.g. "https://example.com/hooks".`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw refuse('is not a URL');
  }
  if (allowLoopback && url.protocol === 'http:' && url.hostname === '127.0.0.1' && url.port) {
    if (url.username || url.password) throw refuse('must not carry credentials');
    return url;
  }
  if (url.protocol !== 'https:') throw refuse(`must use https:, not ${url.protocol}`);
  if (url.username || url.password) throw refuse('must not carry credentials');
  if (url.port !== '') throw refuse(`must use the default port (443), not ${url.port}`);
  const host = url.hostname.toLowerCase().replace(/\.+$/, '');
  if (host.split('.').some((label) => label === '')) throw refuse('has an empty host label');
  if (host.startsWith('[') || /^\d+\.\d+\.\d+\.\d+$/.test(host)) {
    throw refuse('must name a host, not an IP address');
  }
  if (!host.includes('.')) throw refuse(`"${host}" is not a public host name`);
  if (host === 'localhost' || INTERNAL_SUFFIXES.some((suffix) => host.endsWith(suffix))) {
    throw refuse(`"${host}" is not a public host name`);
  }
  return url;
}
