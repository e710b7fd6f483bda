/**
 * `POST /v1/messages/count_tokens`: the Messages API's token count, passed through with the
 * operator's key (anthropic/forward.ts) and answered as Claude answered. Secret keys only;
 * it counts in the key's request window and costs none of its tokens (counting is free
 * upstream). `conversations.ts` counts a stored conversation's next turn the same way.
 */
import { type Context, Hono } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { forward } from '../anthropic/forward';
import { checkAllowedModel } from '../anthropic/models';
import { settings } from '../config';
import { countTokensRequest } from '../contract/count-tokens-request';
import { parseJson, validateWith } from '../contract/validate';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';
import { logError } from '../log';
import { requireSecretKey } from '../middleware/auth';
import { countRequest } from '../middleware/rate-limit';

export const countTokens = new Hono<AppEnv>();

/** Refuses web callers (`pk_` keys, `es_` tokens) before the request is counted. */
export const secretKeysOnly = requireSecretKey(
  "Counting tokens takes a secret key (sk_…): it is for servers planning their requests, and each count is a call to Claude on the operator's account that a web page must not be able to spend.",
);

countTokens.post('/', secretKeysOnly, countRequest(), async (c) => {
  const text = await c.req.text();
  const { model } = validateWith(countTokensRequest, parseJson(text));
  const { allowedModels } = settings(c.env);
  checkAllowedModel(model, allowedModels);
  c.get('log').model = model;
  // The client's own bytes: Claude answers about exactly what it was sent.
  return countUpstream(c, text);
});

/** Claude's count of `body`, its answer passed on as it is (status, body, `retry-after`). */
/** `headers`: the `anthropic-version` / `anthropic-beta` to send (default: the client's). */
export async function countUpstream(
  c: Context<AppEnv>,
  body: string,
  headers: Headers = c.req.raw.headers,
): Promise<Response> {
  let upstream: Response;
  try {
    upstream = await forward(c.env, '/v1/messages/count_tokens', body, headers);
  } catch (err) {
    logError('count_tokens', err, { key_id: c.get('apiKey').id });
    throw new ApiError(
      'api_error',
      'The Messages API could not be reached to count the tokens. Retry the request.',
    );
  }
  // A few bytes, read whole and sent through c.body so that the RateLimit fields set while
  // counting the request go out with them.
  return c.body(
    await upstream.text(),
    upstream.status as ContentfulStatusCode,
    Object.fromEntries(upstream.headers),
  );
}
