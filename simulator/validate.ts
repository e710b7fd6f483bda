// Request validation: everything that turns a body into a 400 / 404 before generation starts.

import type { MessageCreateParams, Tool } from '@anthropic-ai/sdk/resources/messages';
import { readBreakpoints, type Breakpoint } from './cache-control';
import { COMPACT_BETA, readContextManagement, type CompactionConfig } from './context-management';
import { readDiagnostics } from './diagnostics';
import { invalid, SimError } from './errors';
import { checkLatency, type Latency } from './latency';
import { checkMessages } from './messages-shape';
import { findModel, type ModelSpec } from './models';
import { checkToolChoice, resolveThinking, type ThinkingMode } from './thinking-config';

export interface ValidRequest {
  params: MessageCreateParams;
  model: ModelSpec;
  thinking: ThinkingMode;
  stream: boolean;
  /** `tool_choice` is `any` or `tool`. */
  forcedTool: boolean;
  latency: Latency;
  /** `cache_control` markers in render order (the top-level one last). */
  breakpoints: Breakpoint[];
  /** `diagnostics.previous_message_id`: undefined without diagnostics, null to opt in only. */
  previousMessageId: string | null | undefined;
  /** The `compact_20260112` edit of `context_management` (null: none). */
  compaction: CompactionConfig | null;
  /** `anthropic-beta` carries `compact-2026-01-12`: usage then has `iterations`. */
  compactBeta: boolean;
}

const KNOWN_FIELDS = new Set([
  'max_tokens',
  'messages',
  'model',
  'cache_control',
  'container',
  'diagnostics',
  'inference_geo',
  'metadata',
  'output_config',
  'service_tier',
  'speed',
  'stop_sequences',
  'stream',
  'system',
  'thinking',
  'tool_choice',
  'tools',
  'user_profile_id',
  'workspace_id',
]);

/**
 * What `POST /v1/messages/count_tokens` takes (reference long-conversations §4): no
 * `max_tokens`, `stream`, `metadata` or other generation settings.
 */
const COUNT_TOKENS_FIELDS = new Set([
  'messages',
  'model',
  'cache_control',
  'output_config',
  'speed',
  'system',
  'thinking',
  'tool_choice',
  'tools',
]);

const SAMPLING = ['temperature', 'top_p', 'top_k'] as const;

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

/**
 * Under 2026-10-21 (what SDK 1.x sends, and the default here) sampling parameters are removed.
 * Under 2023-06-01 the older per-model rules apply (reference §0).
 */
function checkSampling(
  body: Record<string, unknown>,
  version: string | null,
  model: ModelSpec,
  thinking: ThinkingMode,
): void {
  const present = SAMPLING.filter((k) => body[k] !== undefined);
  if (present.length === 0) return;
  if (version !== '2023-06-01') throw invalid(`${present[0]}: Extra inputs are not permitted`);
  const { temperature, top_p: topP, top_k: topK } = body;
  if (!model.legacySampling) {
    if (topK !== undefined) throw invalid('top_k: not supported for this model.');
    if (temperature !== undefined && temperature !== 1)
      throw invalid('temperature: only 1.0 is supported for this model.');
    if (topP !== undefined && !(typeof topP === 'number' && topP >= 0.99))
      throw invalid('top_p: must be at least 0.99 for this model.');
  } else if (thinking.upFront) {
    if (topK !== undefined) throw invalid('top_k: not compatible with thinking.');
    if (temperature !== undefined && temperature !== 1)
      throw invalid('temperature may only be set to 1 when thinking is enabled.');
    if (topP !== undefined && !(typeof topP === 'number' && topP >= 0.95 && topP <= 1))
      throw invalid('top_p must be between 0.95 and 1 when thinking is enabled.');
  }
}

/** `metadata`: an object whose one field is an optional `user_id` string of at most 256 characters. */
function checkMetadata(raw: unknown): void {
  if (raw === undefined || raw === null) return;
  if (typeof raw !== 'object' || Array.isArray(raw))
    throw invalid('metadata: Input should be a valid dictionary or object to extract fields from');
  const extra = Object.keys(raw).find((k) => k !== 'user_id');
  if (extra !== undefined) throw invalid(`metadata.${extra}: Extra inputs are not permitted`);
  const userId = (raw as { user_id?: unknown }).user_id;
  if (userId === undefined || userId === null) return;
  if (typeof userId !== 'string') throw invalid('metadata.user_id: Input should be a valid string');
  if (userId.length > 256)
    throw invalid('metadata.user_id: String should have at most 256 characters');
}

function checkTools(raw: unknown): Tool[] | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!Array.isArray(raw)) throw invalid('tools: Input should be a valid list');
  const names = new Set<string>();
  raw.forEach((t: unknown, i) => {
    if (typeof t !== 'object' || t === null) throw invalid(`tools.${i}: Input should be an object`);
    const tool = t as Record<string, unknown>;
    if (typeof tool.name !== 'string' || !tool.name)
      throw invalid(`tools.${i}.name: Field required`);
    if (names.has(tool.name)) throw invalid(`tools: Tool names must be unique.`);
    names.add(tool.name);
    const custom = tool.type === undefined || tool.type === null || tool.type === 'custom';
    if (custom) {
      const schema = tool.input_schema as { type?: unknown } | undefined;
      if (typeof schema !== 'object' || schema === null)
        throw invalid(`tools.${i}.custom.input_schema: Field required`);
      if (schema.type !== 'object')
        throw invalid(`tools.${i}.custom.input_schema.type: Input should be 'object'`);
    }
  });
  return raw as Tool[];
}

export interface ValidateOptions {
  /** A count_tokens body: no `max_tokens` or `stream`, whatever the beta headers. */
  countTokens?: boolean;
}

export function validate(
  body: unknown,
  headers: Headers,
  url: URL,
  options: ValidateOptions = {},
): ValidRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw invalid('Request body must be a JSON object.');
  const b = body as Record<string, unknown>;
  const counting = options.countTokens === true;

  if (b.model === undefined) throw invalid('model: Field required');
  if (typeof b.model !== 'string') throw invalid('model: Input should be a valid string');
  if (counting) {
    // Counting never generates, so these are refused even where a beta lets unknown fields by.
    for (const field of ['stream', 'max_tokens'])
      if (b[field] !== undefined) throw invalid(`${field}: Extra inputs are not permitted`);
  } else {
    if (b.max_tokens === undefined) throw invalid('max_tokens: Field required');
    if (!isInt(b.max_tokens)) throw invalid('max_tokens: Input should be a valid integer');
    if (b.max_tokens < 1) throw invalid('max_tokens: Input should be greater than or equal to 1');
  }
  if (b.messages === undefined) throw invalid('messages: Field required');

  const betas = (headers.get('anthropic-beta') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const model = findModel(b.model);
  if (!model) throw new SimError('not_found_error', `model: ${b.model}`);
  if (betas.length === 0 && url.searchParams.get('beta') !== 'true') {
    const known = counting ? COUNT_TOKENS_FIELDS : KNOWN_FIELDS;
    const extra = Object.keys(b).find(
      (k) => !known.has(k) && (counting || !(SAMPLING as readonly string[]).includes(k)),
    );
    if (extra) throw invalid(`${extra}: Extra inputs are not permitted`);
  }
  if (isInt(b.max_tokens) && b.max_tokens > model.maxOutputTokens)
    throw invalid(
      `max_tokens: ${b.max_tokens} > ${model.maxOutputTokens}, which is the maximum allowed number of output tokens for ${model.id}`,
    );
  if (b.stream !== undefined && typeof b.stream !== 'boolean')
    throw invalid('stream: Input should be a valid boolean');
  if (b.system !== undefined && typeof b.system !== 'string' && !Array.isArray(b.system))
    throw invalid('system: Input should be a valid string or list');
  if (
    b.stop_sequences !== undefined &&
    !(Array.isArray(b.stop_sequences) && b.stop_sequences.every((s) => typeof s === 'string'))
  )
    throw invalid('stop_sequences: Input should be a valid list of strings');
  checkMetadata(b.metadata);

  const latency = checkLatency(b, model, betas);
  const thinking = resolveThinking(b, model, betas);
  checkSampling(b, headers.get('anthropic-version'), model, thinking);
  const tools = checkTools(b.tools);
  const forcedTool = checkToolChoice(b.tool_choice, tools, model, thinking);
  const allowPrefill = model.allowsPrefill && !thinking.upFront;
  checkMessages(b.messages, allowPrefill);
  const breakpoints = readBreakpoints(b);
  const previousMessageId = readDiagnostics(b.diagnostics);
  const compaction = readContextManagement(b.context_management, model, betas);

  return {
    params: b as unknown as MessageCreateParams,
    model,
    thinking,
    stream: b.stream === true,
    forcedTool,
    latency,
    breakpoints,
    previousMessageId,
    compaction,
    compactBeta: betas.includes(COMPACT_BETA),
  };
}
