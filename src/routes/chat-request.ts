/**
 * The `/v1/chat` request body (API.md §3) as a zod schema. Unknown fields are refused so a
 * typo (or a `temperature`, which thinking models reject) is a clear 400, not a silent no-op.
 */
import { z } from 'zod';

const nonEmpty = z.string().min(1, 'must not be empty');

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
  name: z.string().regex(/^[a-zA-Z0-9_-]{1,128}$/, 'must be 1-128 letters, digits, _ or -'),
  description: z.string().optional(),
  input_schema: z.looseObject({ type: z.literal('object', 'input_schema.type must be "object"') }),
});

const toolChoice = z.union([
  z.strictObject({
    type: z.enum(['auto', 'any', 'none']),
    disable_parallel_tool_use: z.boolean().optional(),
  }),
  z.strictObject({
    type: z.literal('tool'),
    name: nonEmpty,
    disable_parallel_tool_use: z.boolean().optional(),
  }),
]);

const thinking = z.union(
  [
    z.strictObject({ effort: z.enum(['low', 'medium', 'high', 'xhigh', 'max']) }),
    z.strictObject({ budget_tokens: z.int().positive() }),
    z.strictObject({ type: z.literal('disabled') }),
  ],
  {
    error:
      'thinking must be {"effort":"low"|"medium"|"high"|"xhigh"|"max"}, {"budget_tokens":N} or {"type":"disabled"}',
  },
);

const toolResult = z.strictObject({
  tool_use_id: nonEmpty,
  content: z.union([z.string(), z.array(userBlock)]),
  is_error: z.boolean().optional(),
});

export const chatRequest = z
  .strictObject({
    conversation_id: z
      .string()
      .regex(/^c_[A-Za-z0-9]{1,64}$/, 'must be an id from an earlier answer, like "c_…"')
      .optional(),
    message: z
      .union([nonEmpty, z.array(userBlock).min(1, 'must hold at least one block')], {
        error:
          'must be a non-empty string or an array of user content blocks of type "text", "image", "document" or "search_result" (tool results go in tool_results)',
      })
      .optional(),
    tool_results: z.array(toolResult).min(1, 'must answer at least one tool_use').optional(),
    model: nonEmpty.optional(),
    system: z
      .union([z.string(), z.array(z.looseObject({ type: z.literal('text'), text: nonEmpty }))])
      .optional(),
    tools: z.array(customTool).max(128).optional(),
    tool_choice: toolChoice.optional(),
    max_tokens: z.int().positive().optional(),
    thinking: thinking.optional(),
    stream: z.boolean().optional(),
    speed: z.enum(['standard', 'fast']).optional(),
    service_tier: z.enum(['auto', 'standard_only']).optional(),
  })
  .refine((b) => (b.message === undefined) !== (b.tool_results === undefined), {
    message:
      'send exactly one of "message" (a user turn) or "tool_results" (answers to the pending tool calls)',
  });

export type ChatRequest = z.output<typeof chatRequest>;
