/**
 * The token-counting bodies (API.md §3). `POST /v1/messages/count_tokens` takes the Messages
 * API's own count body: the edge checks only what it acts on (a JSON object naming a model
 * and its messages) and Claude checks the rest. `POST /v1/conversations/:id/count_tokens`
 * takes the next turn's user message, exactly as `/v1/chat` takes it.
 */
import { turnFields } from './chat-request';
import * as z from './zod';

export const countTokensRequest = z.looseObject({
  model: z.string().check(z.minLength(1, 'must not be empty')),
  messages: z.array(z.looseObject({ role: z.string() })),
});

export const conversationCountRequest = z.strictObject({
  message: z.nonoptional(
    turnFields.message,
    'is required: the next user message, a string or an array of user content blocks as /v1/chat takes it',
  ),
});
