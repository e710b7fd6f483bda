// Cache diagnostics: `diagnostics: {previous_message_id}` (SDK `DiagnosticsParam`). The simulator
// remembers, per message id it issued, the request's fingerprint and the response, and explains
// with a `CacheMissReason` how a later request diverged from it.

import type { CacheMissReason, MessageParam } from '@anthropic-ai/sdk/resources/messages';
import {
  canonicalBlock,
  canonicalMessage,
  stableStringify,
  textBlocks,
  withoutCacheControl,
} from './canonical';
import { sha256Hex } from './crypto';
import { invalid } from './errors';
import type { Speed } from './latency';
import { promptConfig } from './prompt-layout';
import type { ValidRequest } from './validate';

export type { CacheMissReason };

type Obj = Record<string, unknown>;

export interface RequestPrint {
  model: string;
  speed: Speed;
  tools: string;
  system: string;
  /** One hash per request message. */
  messages: string[];
  /** Thinking configuration and tool_choice. */
  config: string;
}

interface Remembered extends RequestPrint {
  /** The request's messages followed by the response. */
  continued: string[];
  /** Prefix tokens the request left in the cache (read + written). */
  cachedTokens: number;
}

/**
 * `diagnostics` of a request: undefined when absent (or null), otherwise the previous message id
 * (null: opted in with nothing to compare).
 */
export function readDiagnostics(raw: unknown): string | null | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'object' || Array.isArray(raw))
    throw invalid('diagnostics: Input should be a valid dictionary or object');
  const extra = Object.keys(raw).find((k) => k !== 'previous_message_id');
  if (extra !== undefined) throw invalid(`diagnostics.${extra}: Extra inputs are not permitted`);
  const id = (raw as { previous_message_id?: unknown }).previous_message_id;
  if (id === undefined || id === null) return null;
  if (typeof id !== 'string')
    throw invalid('diagnostics.previous_message_id: Input should be a valid string');
  return id;
}

const hashOf = async (value: unknown) => (await sha256Hex(stableStringify(value))).slice(0, 32);

export const messageHash = (message: MessageParam) => hashOf(canonicalMessage(message));

/** `messages`: the history the model sees (from the latest compaction block on). */
export async function fingerprint(
  req: ValidRequest,
  speed: Speed,
  messages: readonly MessageParam[],
): Promise<RequestPrint> {
  const { model, system, tools } = req.params;
  return {
    model,
    speed,
    tools: await hashOf(
      (Array.isArray(tools) ? tools : []).map((t) => withoutCacheControl(t as unknown as Obj)),
    ),
    system: await hashOf(textBlocks(system).map(canonicalBlock)),
    messages: await Promise.all(messages.map(messageHash)),
    config: await hashOf(promptConfig(req)),
  };
}

/** Fingerprints of the requests behind the message ids this simulator issued (FIFO-bounded). */
export class Fingerprints {
  private readonly byId = new Map<string, Remembered>();
  constructor(private readonly limit = 10_000) {}

  remember(id: string, print: RequestPrint, response: string, cachedTokens: number): void {
    this.byId.set(id, { ...print, continued: [...print.messages, response], cachedTokens });
    if (this.byId.size > this.limit) this.byId.delete(this.byId.keys().next().value!);
  }

  /** Why this request could not reuse the cache of the one behind `previousId` (null: it could). */
  diagnose(previousId: string, current: RequestPrint, cacheRead: number): CacheMissReason | null {
    const previous = this.byId.get(previousId);
    if (!previous) return { type: 'previous_message_not_found' };
    const cache_missed_input_tokens = Math.max(0, previous.cachedTokens - cacheRead);
    if (previous.model !== current.model || previous.speed !== current.speed)
      return { type: 'model_changed', cache_missed_input_tokens };
    if (previous.tools !== current.tools)
      return { type: 'tools_changed', cache_missed_input_tokens };
    if (previous.system !== current.system)
      return { type: 'system_changed', cache_missed_input_tokens };
    // Entries may only be appended: the previous messages, then (if it goes on) the response.
    const extended =
      current.messages.length >= previous.messages.length &&
      current.messages.every(
        (h, i) => i >= previous.continued.length || h === previous.continued[i],
      );
    if (!extended) return { type: 'messages_changed', cache_missed_input_tokens };
    if (previous.config !== current.config) return { type: 'unavailable' };
    return null;
  }
}
