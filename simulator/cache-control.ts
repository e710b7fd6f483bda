// `cache_control` breakpoints of a request (reference §7): explicit markers on tools, system
// blocks and message content blocks (tool_result content included), plus the top-level marker,
// which lands on the last block of the request. Validates their shape, the limit of 4 and the
// TTL order (1h before 5m, in the render order tools → system → messages).

import { messageBlocks } from './canonical';
import { invalid } from './errors';
import type { MessageParam } from '@anthropic-ai/sdk/resources/messages';

export type Ttl = '5m' | '1h';

/** Where a breakpoint sits, in render order. `top` is the request-level `cache_control`. */
export type Anchor =
  | { part: 'tools'; index: number }
  | { part: 'system'; index: number }
  | { part: 'messages'; index: number; block: number }
  | { part: 'top' };

export interface Breakpoint {
  anchor: Anchor;
  ttl: Ttl;
  /** Path of the marker, e.g. `messages.2.content.0.cache_control`. */
  path: string;
}

const MAX_BREAKPOINTS = 4;

const CACHE_ERRORS = {
  tooMany: (n: number) =>
    `A maximum of ${MAX_BREAKPOINTS} blocks with cache_control may be provided. Found ${n}.`,
  ttlOrder: (path: string) =>
    `${path}.ttl: a ttl='1h' cache_control block must not come after a ttl='5m' cache_control block. Note that blocks are processed in the following order: \`tools\`, \`system\`, \`messages\`.`,
  ttlValue: (path: string) => `${path}.ephemeral.ttl: Input should be '5m' or '1h'`,
  type: (path: string, found: unknown) =>
    `${path}.type: Input tag '${String(found)}' found using 'type' does not match any of the expected tags: 'ephemeral'`,
  shape: (path: string) => `${path}: Input should be a valid dictionary or object`,
  onThinking: (path: string, type: string) =>
    `${path}.${type}.cache_control: Extra inputs are not permitted`,
};

type Obj = Record<string, unknown>;

/** The TTL of a `cache_control` value at `path`, or null when there is none. */
function readMarker(value: unknown, path: string): Ttl | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'object' || Array.isArray(value)) throw invalid(CACHE_ERRORS.shape(path));
  const { type, ttl } = value as Obj;
  if (type !== 'ephemeral') throw invalid(CACHE_ERRORS.type(path, type));
  if (ttl === undefined || ttl === null) return '5m';
  if (ttl !== '5m' && ttl !== '1h') throw invalid(CACHE_ERRORS.ttlValue(path));
  return ttl;
}

function objects(list: unknown): Obj[] {
  return Array.isArray(list)
    ? (list.filter((x) => typeof x === 'object' && x !== null) as Obj[])
    : [];
}

export function readBreakpoints(body: Obj): Breakpoint[] {
  const found: Breakpoint[] = [];
  const add = (value: unknown, owner: string, anchor: Anchor) => {
    const path = owner ? `${owner}.cache_control` : 'cache_control';
    const ttl = readMarker(value, path);
    if (ttl) found.push({ anchor, ttl, path });
  };

  objects(body.tools).forEach((tool, index) =>
    add(tool.cache_control, `tools.${index}`, { part: 'tools', index }),
  );
  objects(body.system).forEach((block, index) =>
    add(block.cache_control, `system.${index}`, { part: 'system', index }),
  );
  (body.messages as MessageParam[]).forEach((message, index) => {
    (messageBlocks(message) as Obj[]).forEach((b, block) => {
      const at = `messages.${index}.content.${block}`;
      const anchor: Anchor = { part: 'messages', index, block };
      if ((b.type === 'thinking' || b.type === 'redacted_thinking') && b.cache_control != null)
        throw invalid(CACHE_ERRORS.onThinking(at, b.type));
      add(b.cache_control, at, anchor);
      // Markers inside a tool_result's content mark the tool_result block.
      if (b.type === 'tool_result')
        objects(b.content).forEach((inner, k) =>
          add(inner.cache_control, `${at}.content.${k}`, anchor),
        );
    });
  });
  add(body.cache_control, '', { part: 'top' });

  if (found.length > MAX_BREAKPOINTS) throw invalid(CACHE_ERRORS.tooMany(found.length));
  let seen5m = false;
  for (const bp of found) {
    if (bp.ttl === '1h' && seen5m) throw invalid(CACHE_ERRORS.ttlOrder(bp.path));
    seen5m ||= bp.ttl === '5m';
  }
  return found;
}
