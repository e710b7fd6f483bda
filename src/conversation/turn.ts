/**
 * One assistant turn: call Claude (always streaming upstream, even for a JSON answer, so
 * long thinking never hits the SDK's non-streaming limit), translate the events as they
 * arrive, and store the turn only after `message_stop`. A failed turn stores nothing, so
 * the conversation stays at its last good state.
 */
import type {
  MessageCreateParamsStreaming,
  MessageParam,
} from '@anthropic-ai/sdk/resources/messages';
import { postStreamingMessage } from '../anthropic/client';
import { readEvents } from '../anthropic/events';
import { StreamTranslator } from '../anthropic/stream';
import { upstreamError } from '../anthropic/upstream-error';
import { type TurnAnswer, type TurnUsage, visibleContent } from '../contract/answer';
import type { ClientEvent } from '../contract/events';
import { ApiError, statusFor } from '../errors';
import { logLine } from '../log';
import { type Conversation, saveConversation } from '../store/conversations';

type UpstreamParams = Omit<MessageCreateParamsStreaming, 'messages' | 'stream'>;

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

export async function runTurn(
  env: Env,
  input: TurnInput,
  emit: (event: ClientEvent) => void,
  /** Aborted with a `TurnStopped` by the turn's owner. */
  stop?: AbortSignal,
): Promise<TurnOutcome> {
  const { conversation, userMessage, params } = input;
  const messages = [...conversation.messages, userMessage];
  const translator = new StreamTranslator(emit);
  let lastByteAt = Date.now();
  const abort = new AbortController();
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
    const response = await postStreamingMessage(
      env,
      {
        ...params,
        // Asks Claude why the prompt cache missed against the previous turn, if it did.
        diagnostics: { previous_message_id: conversation.last_message_id ?? null },
        messages,
        stream: true,
      },
      {
        signal: abort.signal,
        ...(input.betas.length > 0 ? { headers: { 'anthropic-beta': input.betas.join(',') } } : {}),
      },
    );
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
          : upstreamError(err);
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
  const updated: Conversation = {
    ...conversation,
    model: params.model,
    updated_at: now,
    turns: conversation.turns + 1,
    last_message_id: turn.id,
    last_answer: { stop_reason: turn.stop_reason, usage: turn.usage },
    context_tokens:
      turn.usage.input_tokens +
      turn.usage.cache_creation_input_tokens +
      turn.usage.cache_read_input_tokens +
      turn.usage.output_tokens,
    messages: [...messages, { role: 'assistant', content: turn.content }],
  };
  await saveConversation(env.CONVERSATIONS, updated, input.ttlSeconds);
  return {
    ok: true,
    conversation: updated,
    answer: {
      conversation_id: conversation.id,
      turn: updated.turns,
      content: visibleContent(turn.content),
      stop_reason: turn.stop_reason,
      usage: turn.usage,
    },
  };
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
