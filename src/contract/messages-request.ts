/**
 * `POST /v1/messages` (API.md §3): a Messages API request as an official SDK sends it. The
 * edge checks only what it acts on — the model (ALLOWED_MODELS), `stream`, `thinking` (to
 * default its `display`), `metadata.user_id` (the end user) — and leaves the rest to Claude,
 * whose own validation and error messages the client's SDK already knows.
 */
import { endUser } from './end-user';
import * as z from './zod';

export const messagesRequest = z.looseObject({
  model: z.string('model: required, a Claude model id'),
  messages: z.array(z.unknown(), 'messages: required, an array of messages'),
  stream: z.optional(z.boolean('stream must be true or false')),
  thinking: z.optional(z.looseObject({ type: z.string(), display: z.optional(z.string()) })),
  metadata: z.optional(z.looseObject({ user_id: z.optional(z.nullable(endUser)) })),
  system: z.optional(z.unknown()),
  tools: z.optional(z.unknown()),
});

export type MessagesRequest = z.infer<typeof messagesRequest>;
