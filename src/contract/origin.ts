/** A web origin as keys and tokens name them: exactly `scheme://host[:port]`, http(s) only. */
import * as z from './zod';

function isOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === value;
  } catch {
    return false;
  }
}

export const origin = z.string().check(
  z.refine(isOrigin, {
    message:
      'must be an origin, scheme://host[:port], e.g. "https://app.example.com" (no path, no trailing slash)',
  }),
);
