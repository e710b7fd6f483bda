/**
 * A request's `user` (API.md §2): an opaque end-user id, forwarded upstream as
 * `metadata.user_id`, written in log lines and counted per end user. One validator for the
 * `/v1/chat` and `/v1/jobs` bodies and for the `?user=` of `GET /v1/usage`.
 */
import { invalid } from '../errors';
import * as z from './zod';

/** The Messages API's own bound on `metadata.user_id` (counted in UTF-16 units, which is never more lenient). */
const MAX_LENGTH = 256;

const HOW =
  "an opaque end-user id of 1–256 characters, e.g. a hash of your user's own id; never an e-mail address or a name";

// It goes into log lines and upstream metadata: no line breaks or other control characters.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
// The contract says opaque: an id shaped like an address is personal data sent by mistake.
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export const endUser = z.string(`must be ${HOW}`).check(
  z.minLength(1, `must not be empty: send ${HOW}, or leave the field out`),
  z.maxLength(MAX_LENGTH, `must be at most ${MAX_LENGTH} characters: send ${HOW}`),
  z.refine((v) => !CONTROL.test(v), {
    message: `must not contain control characters (line breaks, tabs): send ${HOW}`,
  }),
  z.refine((v) => !EMAIL.test(v), {
    message: `looks like an e-mail address: send ${HOW}`,
  }),
);

/** The `?user=` of a query, or the 400 that says what is wrong with it. */
export function parseEndUser(value: string): string {
  const result = endUser.safeParse(value);
  if (!result.success) throw invalid(`user: ${result.error.issues[0]!.message}`);
  return result.data;
}
