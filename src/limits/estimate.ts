/**
 * A turn's input, estimated at the edge before Claude is called, so that one request cannot
 * spend the day's token budget many times over: the limiter refuses a turn whose estimate
 * does not fit what remains (API.md §4). Deliberately on the high side, and linear in the
 * size of what it reads:
 * - text: an ASCII character is a third of a token (English runs about four characters a
 *   token, code about three), any other character a whole one (CJK runs about one);
 * - an image: 1,600 tokens (what the API scales an image to costs at most about that);
 *   a base64 PDF: 1 token per 64 bytes of base64, at least 1,600;
 * - thinking signatures and redacted thinking: nothing (earlier turns' thinking is not
 *   input, and the last turn's is counted by Claude's own figure below).
 * A continuing conversation's history is taken from Claude's own count of the last turn
 * (its input plus its output, `context_tokens`), not estimated again.
 */
import type { Conversation } from '../store/conversations';

const IMAGE_TOKENS = 1_600;
const PDF_BASE64_BYTES_PER_TOKEN = 64;

/** What the next turn of `conversation` (null: a new one) sends Claude, in tokens. */
export function estimateTurnInput(
  conversation: Conversation | null,
  turn: { message?: unknown; tool_results?: unknown; system?: unknown; tools?: unknown },
): number {
  const history = conversation
    ? (conversation.context_tokens ??
      estimateTokens([conversation.system, conversation.tools, conversation.messages]))
    : estimateTokens([turn.system, turn.tools]);
  return history + estimateTokens([turn.message, turn.tool_results]);
}

/** Tokens of any JSON value, walked without recursion. */
function estimateTokens(value: unknown): number {
  let tokens = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const item = stack.pop();
    if (typeof item === 'string') tokens += textTokens(item);
    else if (typeof item === 'number' || typeof item === 'boolean') tokens += 1;
    else if (Array.isArray(item)) for (const element of item) stack.push(element);
    else if (item && typeof item === 'object') {
      const fixed = blockTokens(item as Record<string, unknown>);
      if (fixed !== null) tokens += fixed;
      else for (const field of Object.values(item)) stack.push(field);
    }
  }
  return Math.ceil(tokens);
}

function textTokens(text: string): number {
  let ascii = 0;
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) < 0x80) ascii++;
  return ascii / 3 + (text.length - ascii);
}

/** Blocks whose cost is not their text; null for the rest. */
function blockTokens(block: Record<string, unknown>): number | null {
  if (block.type === 'thinking')
    return typeof block.thinking === 'string' ? textTokens(block.thinking) : 0;
  if (block.type === 'redacted_thinking') return 0;
  if (block.type === 'image') return IMAGE_TOKENS;
  if (block.type !== 'document') return null;
  const source = block.source as { type?: unknown; data?: unknown } | undefined;
  if (source?.type === 'base64' && typeof source.data === 'string') {
    return Math.max(IMAGE_TOKENS, source.data.length / PDF_BASE64_BYTES_PER_TOKEN);
  }
  // A text document is text; a URL or file document is unknown until fetched: count as an image.
  return source?.type === 'text' ? null : IMAGE_TOKENS;
}
