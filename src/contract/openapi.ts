/**
 * The API's OpenAPI 3.1 description, built from the same zod schemas that validate requests,
 * so it cannot drift from what the Worker accepts. Built ahead of time, not in the Worker:
 * `npm run openapi` writes it to `openapi.json`, which `GET /openapi.json` serves, and a test
 * fails when that file no longer equals what this module builds. zod's JSON Schema
 * converter is a fifth of zod and is needed only here, so it stays out of the bundle.
 */
import { newKeyRequest, rotateSecretRequest } from './admin-request';
import { chatRequest } from './chat-request';
import { conversationCountRequest, countTokensRequest } from './count-tokens-request';
import { embedSessionRequest } from './embed-session';
import { endUser } from './end-user';
import { jobRequest } from './job-request';
import * as z from './zod';

const schema = (s: z.ZodMiniType) => {
  const { $schema: _, ...rest } = z.toJSONSchema(s, {
    unrepresentable: 'any',
    io: 'input',
  }) as Record<string, unknown>;
  return rest;
};

const error = {
  type: 'object',
  required: ['type', 'error', 'request_id'],
  properties: {
    type: { const: 'error' },
    error: {
      type: 'object',
      required: ['type', 'message'],
      properties: { type: { type: 'string' }, message: { type: 'string' } },
    },
    request_id: { type: 'string' },
  },
};
const errors = {
  default: {
    description: 'Error',
    content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
  },
};
const bearer = [{ bearer: [] }];

/**
 * A turn's SSE events (events.ts), each frame `id: <turn>:<seq>`, `event: <name>`,
 * `data: <JSON>`. OpenAPI 3.1 has no type for a stream of events, so the stream's schema is
 * one of its frames, each named by its `event`.
 */
const sseEvent = (event: string, data: Record<string, unknown>, required: string[]) => ({
  type: 'object',
  required: ['id', 'event', 'data'],
  properties: {
    id: { type: 'string', pattern: '^[1-9][0-9]*:[0-9]+$', description: '<turn>:<seq>' },
    event: { const: event },
    data: { type: 'object', required, properties: data },
  },
});
const tokenCounts = {
  type: 'object',
  properties: Object.fromEntries(
    [
      'input_tokens',
      'output_tokens',
      'cache_creation_input_tokens',
      'cache_read_input_tokens',
      'thinking_tokens',
    ].map((name) => [name, { type: 'integer' }]),
  ),
};
const usageSchema = {
  ...tokenCounts,
  properties: {
    ...tokenCounts.properties,
    compaction: {
      ...tokenCounts,
      description:
        "What a server-side compaction in this turn used; the fields above leave it out, the day's budget counts both",
    },
  },
};
const stopDetails = {
  description:
    "Why the answer stopped, in words: Claude's details of a refusal, or the edge's for model_context_window_exceeded",
  type: 'object',
  required: ['type'],
  properties: {
    type: { enum: ['refusal', 'model_context_window_exceeded'] },
    category: { type: ['string', 'null'] },
    explanation: { type: ['string', 'null'] },
  },
};
const turnEvent = {
  description:
    'One frame of a turn\'s event stream (id, event, JSON data); comment lines ": ping" keep an idle stream open',
  oneOf: [
    sseEvent('conversation', { conversation_id: { type: 'string' }, turn: { type: 'integer' } }, [
      'conversation_id',
      'turn',
    ]),
    sseEvent('status', { phase: { enum: ['compacting', 'thinking', 'answering'] } }, ['phase']),
    sseEvent('text', { text: { type: 'string' } }, ['text']),
    sseEvent('tool_use', { id: { type: 'string' }, name: { type: 'string' }, input: {} }, [
      'id',
      'name',
      'input',
    ]),
    sseEvent(
      'done',
      {
        stop_reason: { type: ['string', 'null'] },
        stop_details: stopDetails,
        usage: usageSchema,
        turn: { type: 'integer' },
      },
      ['stop_reason', 'usage', 'turn'],
    ),
    sseEvent('error', { type: { type: 'string' }, message: { type: 'string' } }, [
      'type',
      'message',
    ]),
    sseEvent('cancelled', { turn: { type: 'integer' } }, ['turn']),
  ],
};
const eventStream = { schema: { $ref: '#/components/schemas/TurnEvent' } };

export const openApiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'thinking-edge',
    version: '0.1.0',
    description:
      "Claude's extended thinking (display omitted) behind a small REST + SSE API. Thinking blocks stay in KV; clients never see them.",
  },
  components: {
    securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
    schemas: {
      ChatRequest: schema(chatRequest),
      JobRequest: schema(jobRequest),
      EmbedSessionRequest: schema(embedSessionRequest),
      CountTokensRequest: schema(countTokensRequest),
      ConversationCountRequest: schema(conversationCountRequest),
      NewKey: schema(newKeyRequest),
      RotateWebhookSecret: schema(rotateSecretRequest),
      Error: error,
      TurnEvent: turnEvent,
    },
  },
  paths: {
    '/v1/chat': {
      post: {
        summary: 'One turn of a conversation, as JSON or SSE',
        security: bearer,
        requestBody: {
          required: true,
          content: { 'application/json': { schema: { $ref: '#/components/schemas/ChatRequest' } } },
        },
        responses: {
          200: {
            description:
              'JSON answer {conversation_id, turn, content, stop_reason, stop_details?, usage}, or an SSE stream of conversation, status, text, tool_use, done | error events',
            content: { 'application/json': {}, 'text/event-stream': eventStream },
          },
          ...errors,
        },
      },
    },
    '/v1/conversations/{id}': {
      parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
      get: {
        summary:
          'Transcript (no thinking data): every message and answer, with markers for compactions and refused turns',
        security: bearer,
        responses: { 200: { description: 'Transcript' }, ...errors },
      },
      delete: {
        summary: 'Delete a conversation',
        security: bearer,
        responses: { 204: { description: 'Deleted' }, ...errors },
      },
    },
    '/v1/conversations/{id}/events': {
      parameters: [
        { name: 'id', in: 'path', required: true, schema: { type: 'string' } },
        {
          name: 'Last-Event-ID',
          in: 'header',
          description: 'The last event id the client saw, <turn>:<seq> (wins over ?after=)',
          schema: { type: 'string', pattern: '^[1-9][0-9]*:[0-9]+$' },
        },
        {
          name: 'after',
          in: 'query',
          description: 'The same as Last-Event-ID, for clients that cannot set headers',
          schema: { type: 'string', pattern: '^[1-9][0-9]*:[0-9]+$' },
        },
      ],
      get: {
        summary:
          'Reattach to a turn: the events after the id, byte for byte as first sent, then the live ones to done, error or cancelled; without an id the running turn from its start, or else the last finished turn',
        security: bearer,
        responses: {
          200: { description: 'The events', content: { 'text/event-stream': eventStream } },
          204: {
            description: 'The id is the last event of a turn that has ended: nothing follows',
          },
          400: { description: 'A malformed event id' },
          404: {
            description: 'No such conversation, or the id is no longer held (or was never sent)',
          },
          ...errors,
        },
      },
    },
    '/v1/conversations/{id}/cancel': {
      parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
      post: {
        summary:
          'Stop the running turn (its stream ends with a cancelled event); nothing of it is stored',
        security: bearer,
        responses: {
          200: { description: '{cancelled: true, turn}' },
          409: { description: 'No turn is running' },
          ...errors,
        },
      },
    },
    '/v1/conversations/{id}/count_tokens': {
      parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
      post: {
        summary:
          "Count the input tokens of the conversation's next turn: history with its thinking blocks, system, tools and this message (secret keys only; one request, no tokens)",
        security: bearer,
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: { $ref: '#/components/schemas/ConversationCountRequest' },
            },
          },
        },
        responses: {
          200: { description: "{input_tokens}: Claude's count" },
          400: { description: 'Not {"message"}, or a message the turn would refuse' },
          403: { description: 'A publishable key or an embed token' },
          404: { description: 'No such conversation for this key' },
          ...errors,
        },
      },
    },
    '/v1/messages/count_tokens': {
      post: {
        summary:
          "The Messages API's token count, forwarded with the operator's key and answered as Claude answers (secret keys only, as Bearer or x-api-key; one request, no tokens)",
        security: bearer,
        requestBody: {
          required: true,
          content: {
            'application/json': { schema: { $ref: '#/components/schemas/CountTokensRequest' } },
          },
        },
        responses: {
          200: { description: "{input_tokens}: Claude's count" },
          400: { description: 'Not JSON, no model or messages, a model not allowed here' },
          403: { description: 'A publishable key or an embed token' },
          ...errors,
        },
      },
    },
    '/v1/jobs': {
      post: {
        summary: 'Queue a turn; its result is POSTed, signed (Standard Webhooks), to callback_url',
        security: bearer,
        requestBody: {
          required: true,
          content: { 'application/json': { schema: { $ref: '#/components/schemas/JobRequest' } } },
        },
        responses: {
          202: { description: '{job_id, status: "queued", conversation_id}' },
          ...errors,
        },
      },
    },
    '/v1/jobs/{id}': {
      parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
      get: {
        summary: 'A job: status, result or error, and its callback deliveries',
        security: bearer,
        responses: {
          200: {
            description:
              '{job_id, status: queued|running|succeeded|failed, conversation_id, created_at, updated_at, result?, error?, callback_url?, deliveries: [{at, status?, error?, next_try_at?}]}',
          },
          ...errors,
        },
      },
    },
    '/admin/keys': {
      post: {
        summary: 'Mint a client key (shown once)',
        security: bearer,
        requestBody: {
          required: true,
          content: { 'application/json': { schema: { $ref: '#/components/schemas/NewKey' } } },
        },
        responses: { 201: { description: 'The key record with its key' }, ...errors },
      },
      get: {
        summary: 'List keys (no secrets)',
        security: bearer,
        responses: { 200: { description: '{data: [...]}' }, ...errors },
      },
    },
    '/admin/keys/{id}/webhook-secret': {
      parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
      post: {
        summary: "Rotate a secret key's webhook secret (the old one signs too for grace_seconds)",
        security: bearer,
        requestBody: {
          required: false,
          content: {
            'application/json': { schema: { $ref: '#/components/schemas/RotateWebhookSecret' } },
          },
        },
        responses: {
          200: { description: '{id, webhook_secret, previous_webhook_secret_expires_at}' },
          ...errors,
        },
      },
    },
    '/admin/keys/{id}': {
      parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
      delete: {
        summary: 'Revoke a key',
        security: bearer,
        responses: { 204: { description: 'Revoked' }, ...errors },
      },
    },
    '/v1/messages': {
      post: {
        summary:
          "Anthropic-compatible Messages API for the official SDKs (secret keys): the request as Claude takes it, forwarded with the operator's key, thinking display omitted unless set; the answer (JSON or SSE) as Claude sent it; limits and usage apply, nothing is stored",
        security: bearer,
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: {
                type: 'object',
                description: 'A Messages API request (model, max_tokens, messages, …)',
              },
            },
          },
        },
        responses: {
          200: {
            description: 'The Messages API answer',
            content: { 'application/json': {}, 'text/event-stream': {} },
          },
          ...errors,
        },
      },
    },
    '/v1/embed/sessions': {
      post: {
        summary:
          "Mint a short-lived es_ token for one visitor's page (secret keys only): one origin, optionally one end user, limits no wider than the key's",
        security: bearer,
        requestBody: {
          required: true,
          content: {
            'application/json': { schema: { $ref: '#/components/schemas/EmbedSessionRequest' } },
          },
        },
        responses: {
          201: { description: '{token: "es_…", expires_at, origin, user?, limits?}' },
          403: { description: 'A publishable key or a token cannot mint tokens' },
          ...errors,
        },
      },
    },
    '/v1/usage': {
      get: {
        summary:
          "The key's limits, what it used this minute and today, when each window resets; with ?user=, one end user's",
        security: bearer,
        parameters: [
          {
            name: 'user',
            in: 'query',
            required: false,
            description:
              "An end user's opaque id (a request's `user`): their figures and the key's limits.per_user (only those set) instead of the key's; the call itself counts for the key only",
            schema: schema(endUser),
          },
        ],
        responses: {
          200: {
            description:
              '{key_id, user?, limits: {requests_per_minute, concurrent_streams, tokens_per_day} (with ?user=: only the per-user limits the key sets), used: {requests_this_minute, open_streams, tokens_today, cache_creation_input_tokens_today, cache_read_input_tokens_today}, resets: {minute, day}}',
          },
          ...errors,
        },
      },
    },
    '/health': {
      get: { summary: 'Liveness', responses: { 200: { description: '{"status":"ok"}' } } },
    },
    '/openapi.json': {
      get: {
        summary: 'This OpenAPI 3.1 description',
        responses: { 200: { description: 'OpenAPI document' } },
      },
    },
    '/docs': {
      get: {
        summary: 'Human-readable API docs',
        responses: { 200: { description: 'HTML page' } },
      },
    },
    '/embed.js': {
      parameters: [
        {
          name: 'v',
          in: 'query',
          description:
            'The version (the ETag without quotes) to pin: that file is then cached for a year',
          schema: { type: 'string', pattern: '^[0-9a-f]{16}$' },
        },
      ],
      get: {
        summary:
          'The chat box for web pages: <script src=".../embed.js" data-key="pk_..."> (or data-token="es_..." with data-token-url) renders a streaming chat box in a shadow root after the tag',
        responses: {
          200: {
            description:
              'JavaScript; ETag is its content hash; cached 5 minutes, or a year with ?v=<current version>',
            content: { 'text/javascript': {} },
          },
          304: { description: 'If-None-Match named the current version' },
        },
      },
    },
  },
} as const;
