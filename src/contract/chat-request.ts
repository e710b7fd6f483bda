/**
 * The `/v1/chat` request body (API.md §3) as a zod schema. Unknown fields are refused so a
 * typo (or a `temperature`, which thinking models reject) is a clear 400, not a silent no-op.
 */
import { endUser } from './end-user';
import * as z from './zod';

/**
 * More results than one assistant turn ever asks for; the turn planner then refuses any
 * count other than the pending calls'. Checked before the elements are, so a hostile list
 * costs nothing to refuse.
 */
const MAX_TOOL_RESULTS = 512;

const nonEmpty = z.string().check(z.minLength(1, 'must not be empty'));
const positiveInt = z.int().check(z.positive());

// User content blocks are checked for shape here; Claude checks the details of media.
const textBlock = z.looseObject({ type: z.literal('text'), text: nonEmpty });
const mediaBlock = z.looseObject({
  type: z.enum(['image', 'document']),
  source: z.looseObject(
    { type: z.string() },
    'needs a source object, e.g. {"type":"base64","media_type":"image/png","data":"…"}',
  ),
});
const searchResultBlock = z.looseObject({
  type: z.literal('search_result'),
  source: nonEmpty,
  title: z.string(),
  content: z.array(textBlock),
});
const userBlock = z.discriminatedUnion('type', [textBlock, mediaBlock, searchResultBlock], {
  error:
    'each content block needs a type of "text", "image", "document" or "search_result" (tool results go in tool_results)',
});

const customTool = z.looseObject({
  name: z
    .string()
    .check(z.regex(/^[a-zA-Z0-9_-]{1,128}$/, 'must be 1-128 letters, digits, _ or -')),
  description: z.optional(z.string()),
  input_schema: z.looseObject({ type: z.literal('object', 'input_schema.type must be "object"') }),
});

const toolChoice = z.union([
  z.strictObject({
    type: z.enum(['auto', 'any', 'none']),
    disable_parallel_tool_use: z.optional(z.boolean()),
  }),
  z.strictObject({
    type: z.literal('tool'),
    name: nonEmpty,
    disable_parallel_tool_use: z.optional(z.boolean()),
  }),
]);

// Ours, and the Messages API's own shapes as every Claude guide writes them; the edge
// always sends `display: "omitted"` whatever a client's `display` says (clients never see
// thinking text). `anthropic/thinking.ts` maps both onto one form.
const display = z.optional(z.enum(['omitted', 'summarized']));
const thinking = z.union(
  [
    z.strictObject({ effort: z.enum(['low', 'medium', 'high', 'xhigh', 'max']) }),
    z.strictObject({ budget_tokens: positiveInt }),
    z.strictObject({ type: z.literal('disabled') }),
    z.strictObject({ type: z.literal('enabled'), budget_tokens: positiveInt, display }),
    z.strictObject({ type: z.literal('adaptive'), display }),
  ],
  {
    error:
      'thinking must be {"effort":"low"|"medium"|"high"|"xhigh"|"max"}, {"budget_tokens":N}, {"type":"disabled"}, or the Messages API\'s {"type":"enabled","budget_tokens":N} or {"type":"adaptive"}',
  },
);

const toolResult = z.strictObject({
  tool_use_id: nonEmpty,
  content: z.union([z.string(), z.array(userBlock)], {
    error:
      'must be a string, or an array of content blocks of type "text", "image", "document" or "search_result"',
  }),
  is_error: z.optional(z.boolean()),
});

/** The fields of a turn, shared by `/v1/chat` and `/v1/jobs` (contract/job-request.ts). */
export const turnFields = {
  conversation_id: z.optional(
    z
      .string()
      .check(z.regex(/^c_[A-Za-z0-9]{1,64}$/, 'must be an id from an earlier answer, like "c_…"')),
  ),
  message: z.optional(
    z.union([nonEmpty, z.array(userBlock).check(z.minLength(1, 'must hold at least one block'))], {
      error:
        'must be a non-empty string or an array of user content blocks of type "text", "image", "document" or "search_result" (tool results go in tool_results)',
    }),
  ),
  tool_results: z.optional(
    z
      .array(toolResult)
      .check(
        z.minLength(1, 'must answer at least one tool_use'),
        z.maxLength(
          MAX_TOOL_RESULTS,
          `must hold at most ${MAX_TOOL_RESULTS} results: one per pending tool call`,
        ),
      ),
  ),
  model: z.optional(nonEmpty),
  system: z.optional(
    z.union([z.string(), z.array(z.looseObject({ type: z.literal('text'), text: nonEmpty }))]),
  ),
  tools: z.optional(z.array(customTool).check(z.maxLength(128))),
  tool_choice: z.optional(toolChoice),
  max_tokens: z.optional(positiveInt),
  thinking: z.optional(thinking),
  speed: z.optional(z.enum(['standard', 'fast'])),
  service_tier: z.optional(z.enum(['auto', 'standard_only'])),
  /** The end user this turn is for: sent upstream as `metadata.user_id`, counted per end user. */
  user: z.optional(endUser),
};

/** A turn is a user message or the answers to the pending tool calls, never both. */
export function oneTurn<T extends { message?: unknown; tool_results?: unknown }>() {
  return z.refine<T>((b) => (b.message === undefined) !== (b.tool_results === undefined), {
    message:
      'send exactly one of "message" (a user turn) or "tool_results" (answers to the pending tool calls)',
  });
}

export const chatRequest = z
  .strictObject({ ...turnFields, stream: z.optional(z.boolean()) })
  .check(oneTurn());

/** A turn as the conversation's object takes it, from `/v1/chat` or from a job. */
export type ChatRequest = z.output<z.ZodMiniObject<typeof turnFields>> & { stream?: boolean };

/** `"stream": true`, or `Accept: text/event-stream` when the body does not say. */
export function wantsEventStream(accept: string | undefined, stream: boolean | undefined): boolean {
  return stream === true || (stream === undefined && (accept ?? '').includes('text/event-stream'));
}
