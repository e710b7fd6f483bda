/** Refuses bodies over MAX_BODY_BYTES with a 413 before they are read in full. */
import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { settings } from '../config';
import type { AppEnv } from '../env';
import { ApiError } from '../errors';

export function limitBody(): MiddlewareHandler<AppEnv> {
  return async function limitBody(c, next) {
    const maxSize = settings(c.env).maxBodyBytes;
    return bodyLimit({
      maxSize,
      onError: () => {
        throw new ApiError(
          'request_too_large',
          `The request body is larger than ${maxSize} bytes. Send less (fewer or smaller blocks).`,
        );
      },
    })(c, next);
  };
}
