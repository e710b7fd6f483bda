/**
 * One assistant turn: call Claude (always streaming upstream, even for a JSON answer, so
 * long thinking never hits the SDK's non-streaming limit), translate the events as they
 * arrive, and store the turn only after `message_stop`. A failed turn stores nothing, so
 * the conversation stays at its last good state.
 */
import type { BetaContextManagementConfig } from '@anthropic-ai/sdk/resources/beta/messages/messages';
import type {
  MessageCreateParamsStreaming,
  MessageParam,
  RefusalStopDetails,
} from '@anthropic-ai/sdk/resources/messages';
import { postStreamingMessage } from '../anthropic/client';
import { dropSpentBlocks, isCompaction, upstreamHistory } from '../anthropic/compaction';
import { modelSpec } from '../anthropic/models';
import { readEvents } from '../anthropic/events';
import { StreamTranslator } from '../anthropic/stream';
import { upstreamError } from '../anthropic/upstream-error';
import {
  type StopDetails,
  type TurnAnswer,
  type TurnUsage,
  visibleContent,
} from '../contract/answer';
import type { ClientEvent } from '../contract/events';
import { ApiError, statusFor } from '../errors';
import { logLine } from '../log';
import { type Conversation, saveConversation } from '../store/conversations';

type UpstreamParams = Omit<MessageCreateParamsStreaming, 'messages' | 'stream'> & {
  /** Beta: server-side compaction (anthropic/compaction.ts). */
  context_management?: BetaContextManagementConfig;
};

export interface TurnInput {
  /** The conversation as stored before this turn (a new one has no messages). */
  conversation: Conversation;
  userMessage: MessageParam;
  params: UpstreamParams;
  /** `anthropic-beta` values the request needs (e.g. fast mode on preview models). */
  betas: string[];
  ttlSeconds: number;
  /** Silence (no byte, not even a ping) after which the upstream is given up on. */
  idleTimeoutMs: number;
}

class IdleTimeout extends Error {}

/**
 * The reason a turn's owner stops it from outside (its conversation was deleted): the
 * upstream call is aborted, nothing is stored, and the turn ends with `error`.
 */
export class TurnStopped extends Error {
  constructor(
    readonly error: ApiError,
    /** Why: the conversation was deleted, or a client cancelled the turn. */
    readonly why: 'deleted' | 'cancelled',
  ) {
    super(error.message);
  }
}

export type TurnOutcome =
  | { ok: true; answer: TurnAnswer; /** As stored. */ conversation: Conversation }
  | { ok: false; error: ApiError; usage?: TurnUsage };

/**
 * Claude's call for a turn, started: the response (headers only so far) and the controller
 * that aborts it. Started before the limiter's verdict when the object expects admission
 * (limits/headroom.ts); nothing of it reaches a client before `runTurn` reads it.
 */
export interface UpstreamCall {
  response: Promise<Response>;
  abort: AbortController;
}

export function callUpstream(env: Env, input: TurnInput): UpstreamCall {
  const { conversation, userMessage, params } = input;
  const abort = new AbortController();
  const response = postStreamingMessage(
    env,
    {
      ...params,
      // Asks Claude why the prompt cache missed against the previous turn, if it did.
      diagnostics: { previous_message_id: conversation.last_message_id ?? null },
      // What a compaction summarised is not sent again (the whole history is still stored).
      messages: [...upstreamHistory(conversation.messages), userMessage],
      stream: true,
    },
    {
      signal: abort.signal,
      ...(input.betas.length > 0 ? { headers: { 'anthropic-beta': input.betas.join(',') } } : {}),
    },
  );
  response.catch(() => {}); // awaited by runTurn, or abandoned after an abort
  return { response, abort };
}

export async function runTurn(
  env: Env,
  input: TurnInput,
  emit: (event: ClientEvent) => void,
  /** Aborted with a `TurnStopped` by the turn's owner. */
  stop?: AbortSignal,
  /** The call, if it was started already. */
  started?: UpstreamCall,
): Promise<TurnOutcome> {
  const { conversation, userMessage, params } = input;
  const messages = [...conversation.messages, userMessage];
  const translator = new StreamTranslator(emit);
  let lastByteAt = Date.now();
  const call = started ?? callUpstream(env, input);
  const { abort } = call;
  const stopped = () => abort.abort(stop?.reason);
  if (stop?.aborted) stopped();
  else stop?.addEventListener('abort', stopped, { once: true });
  // An upstream that goes silent (not even a ping) past the idle timeout ends the turn.
  const watchdog = setInterval(
    () => {
      if (Date.now() - lastByteAt > input.idleTimeoutMs) abort.abort(new IdleTimeout());
    },
    Math.min(1000, Math.max(10, Math.floor(input.idleTimeoutMs / 4))),
  );
  try {
    const response = await call.response;
    lastByteAt = Date.now();
    if (!response.body) throw new Error('Claude answered without a body.');
    await readEvents(response.body, (event) => translator.push(event), {
      onBytes: () => (lastByteAt = Date.now()),
      signal: abort.signal,
    });
    if (abort.signal.aborted) throw abort.signal.reason;
  } catch (err) {
    const reason: unknown = abort.signal.aborted ? abort.signal.reason : null;
    const error =
      reason instanceof TurnStopped
        ? reason.error
        : reason
          ? new ApiError(
              'timeout_error',
              `Claude sent nothing for ${Math.round(input.idleTimeoutMs / 1000)} s, so the turn was ended. Send it again.`,
            )
          : outgrown(upstreamError(err), params.model);
    return { ok: false, error, usage: translator.usage };
  } finally {
    clearInterval(watchdog);
    stop?.removeEventListener('abort', stopped);
  }
  // Stopped after Claude's last byte: still nothing is stored.
  if (stop?.aborted) return { ok: false, error: stopReason(stop), usage: translator.usage };
  const result = translator.finish();
  if (!result.ok) {
    return { ok: false, error: streamFailure(result.error), usage: result.usage };
  }
  const { turn } = result;
  if (turn.cache_miss_reason) {
    logLine({
      event: 'cache_miss',
      conversation_id: conversation.id,
      reason: turn.cache_miss_reason,
    });
  }
  const now = new Date().toISOString();
  const number = conversation.turns + 1;
  // Claude asks for a refused exchange to be taken out before the conversation goes on, or
  // it keeps refusing: the turn is counted and marked, but not added to the history.
  const refused = turn.stop_reason === 'refusal';
  const compacted = turn.content.some(isCompaction);
  const updated: Conversation = {
    ...conversation,
    model: params.model,
    updated_at: now,
    turns: number,
    last_message_id: turn.id,
    last_answer: { stop_reason: turn.stop_reason, usage: turn.usage },
    // The context the next turn starts from: after a compaction, the summary and what
    // followed it (Claude's top-level usage is that pass alone).
    context_tokens: refused
      ? conversation.context_tokens
      : turn.usage.input_tokens +
        turn.usage.cache_creation_input_tokens +
        turn.usage.cache_read_input_tokens +
        turn.usage.output_tokens,
    messages: refused
      ? conversation.messages
      : compacted
        ? dropSpentBlocks([...messages, { role: 'assistant', content: turn.content }])
        : [...messages, { role: 'assistant', content: turn.content }],
    ...(compacted
      ? {
          compactions: [
            ...(conversation.compactions ?? []),
            { turn: number, at: now, summarized_turns: conversation.turns },
          ],
        }
      : {}),
    ...(refused
      ? {
          refusals: [
            ...(conversation.refusals ?? []),
            {
              turn: number,
              at: now,
              category: turn.stop_details?.category ?? null,
              explanation: turn.stop_details?.explanation ?? null,
              // Kept for the transcript only, so a client can show what was refused.
              message: userMessage,
              answer: visibleContent(turn.content),
            },
          ],
        }
      : {}),
  };
  await saveConversation(env.CONVERSATIONS, updated, input.ttlSeconds);
  if (compacted) {
    logLine({ event: 'compaction', conversation_id: conversation.id, turn: number });
  }
  const stopDetails = detailsOf(turn.stop_reason, turn.stop_details, params.model);
  return {
    ok: true,
    conversation: updated,
    answer: {
      conversation_id: conversation.id,
      turn: updated.turns,
      content: visibleContent(turn.content),
      stop_reason: turn.stop_reason,
      ...(stopDetails ? { stop_details: stopDetails } : {}),
      usage: turn.usage,
    },
  };
}

/** What the client is told, in words, about how the answer stopped (null: nothing to add). */
function detailsOf(
  reason: string | null,
  refusal: RefusalStopDetails | null,
  model: string,
): StopDetails | null {
  if (reason === 'refusal') {
    return (
      refusal ?? {
        type: 'refusal',
        category: null,
        explanation: 'Claude declined to answer this message.',
      }
    );
  }
  if (reason === 'model_context_window_exceeded') {
    return {
      type: 'model_context_window_exceeded',
      explanation: modelSpec(model)?.compaction
        ? `The answer stopped early because the conversation filled ${model}'s context window. The turn is stored; Claude compacts the history on a following turn, so the conversation can go on.`
        : `The answer stopped early because the conversation filled ${model}'s context window, which this model cannot compact. The turn is stored, but further turns may be refused: start a new conversation (send a summary of this one as its first message to carry it over), or use a model that compacts long conversations.`,
    };
  }
  return null;
}

/**
 * Claude's "prompt is too long": the history no longer fits the model's context window.
 * Said in words, with what to do; the conversation stays at its last good state.
 */
function outgrown(error: ApiError, model: string): ApiError {
  if (error.type !== 'invalid_request_error' || !/prompt is too long/i.test(error.message)) {
    return error;
  }
  const how = modelSpec(model)?.compaction
    ? `Even after compaction the conversation does not fit; a very large message may be the cause: send a shorter one.`
    : `${model} cannot compact a conversation's history. Start a new conversation (send a summary of this one as its first message to carry it over), or use a model that compacts long conversations.`;
  return new ApiError(
    'invalid_request_error',
    `This conversation has outgrown ${model}'s context window (${error.message}). Nothing of this turn was stored. ${how}`,
    400,
  );
}

/** An `error` event after the 200, or a stream that ended early: the upstream's own type. */
function streamFailure(error: { type: string; message: string }): ApiError {
  return new ApiError(error.type, error.message, statusFor(error.type));
}

function stopReason(signal: AbortSignal): ApiError {
  return signal.reason instanceof TurnStopped
    ? signal.reason.error
    : new ApiError('api_error', 'The turn was stopped. Send it again.');
}
