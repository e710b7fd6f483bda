// Renders a plan as the Messages API's SSE stream (reference §2; shapes from the SDK's wire
// captures): message_start, blocks with a ping after the first content_block_start, omitted
// thinking as one empty thinking_delta + one signature_delta, a compaction block as a start with
// null fields + one compaction_delta, message_delta (with stop_details), message_stop.

import type { Plan, PlannedBlock } from './plan';
import { deltaUsage, diagnosticsOf, startUsage } from './usage';

const PING = 'event: ping\ndata: {"type": "ping"}\n\n';
const CUT_AFTER_DELTAS = 3;

function sse(event: string, data: Record<string, unknown>): string {
  return `event: ${event}\ndata: ${JSON.stringify({ type: event, ...data })}\n\n`;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Waits `ms`, sending a ping every `interval` meanwhile (as the API does while thinking). */
async function* waitWithPings(ms: number, interval: number): AsyncGenerator<string> {
  let left = ms;
  while (left > 0) {
    const step = Math.min(interval, left);
    await sleep(step);
    left -= step;
    if (left > 0) yield PING;
  }
}

function startShape(block: PlannedBlock): Record<string, unknown> {
  switch (block.type) {
    case 'compaction':
      // The SDK's accumulator takes both fields from the one `compaction_delta`.
      return { type: 'compaction', content: null, encrypted_content: null };
    case 'thinking':
      return { type: 'thinking', thinking: '', signature: '' };
    case 'redacted_thinking':
      return { type: 'redacted_thinking', data: block.data };
    case 'text':
      return { type: 'text', text: '' };
    case 'tool_use':
      return { type: 'tool_use', id: block.id, name: block.name, input: {} };
    case 'unknown':
      return block.block;
  }
}

const delta = (index: number, d: Record<string, unknown>) =>
  sse('content_block_delta', { index, delta: d });

async function* events(plan: Plan, pingIntervalMs: number): AsyncGenerator<string> {
  const cut = plan.fault === 'midstream_error' || plan.fault === 'drop';
  const cutHere = function* () {
    if (plan.fault === 'midstream_error')
      yield sse('error', { error: { type: 'overloaded_error', message: 'Overloaded' } });
  };
  let contentDeltas = 0;
  let sleptThinking = false;
  let mysterySent = plan.fault !== 'unknown_event';

  yield sse('message_start', {
    message: {
      id: plan.id,
      type: 'message',
      role: 'assistant',
      model: plan.model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      stop_details: null,
      diagnostics: diagnosticsOf(plan),
      usage: startUsage(plan),
    },
  });

  for (const [index, block] of plan.blocks.entries()) {
    yield sse('content_block_start', { index, content_block: startShape(block) });
    if (index === 0) yield PING;
    switch (block.type) {
      case 'compaction':
        if (plan.compactMs > 0) yield* waitWithPings(plan.compactMs, pingIntervalMs);
        yield delta(index, {
          type: 'compaction_delta',
          content: block.content,
          encrypted_content: block.encryptedContent,
        });
        break;
      case 'thinking':
        if (!sleptThinking && plan.thinkMs > 0) yield* waitWithPings(plan.thinkMs, pingIntervalMs);
        if (!sleptThinking && plan.stallMs > 0) await sleep(plan.stallMs);
        sleptThinking = true;
        for (const text of block.deltas)
          yield delta(index, { type: 'thinking_delta', thinking: text });
        if (plan.emptyThinkingDelta) yield delta(index, { type: 'thinking_delta', thinking: '' });
        yield delta(index, { type: 'signature_delta', signature: block.signature });
        break;
      case 'text':
      case 'tool_use':
        for (const [k, piece] of block.deltas.entries()) {
          if (block.type === 'text') {
            if (k > 0 && plan.textDelayMs > 0) await sleep(plan.textDelayMs);
            yield delta(index, { type: 'text_delta', text: piece });
          } else {
            yield delta(index, { type: 'input_json_delta', partial_json: piece });
          }
          if (!mysterySent) {
            mysterySent = true;
            yield sse('mystery', { note: 'an event type this client does not know' });
          }
          if (cut && ++contentDeltas === CUT_AFTER_DELTAS) return yield* cutHere();
        }
        if (block.type === 'tool_use' && block.truncated) continue; // no content_block_stop
        break;
    }
    yield sse('content_block_stop', { index });
  }
  if (cut) return yield* cutHere();
  if (!mysterySent) yield sse('mystery', { note: 'an event type this client does not know' });

  yield sse('message_delta', {
    delta: {
      stop_reason: plan.stopReason,
      stop_sequence: plan.stopSequence,
      stop_details: plan.stopDetails,
    },
    usage: deltaUsage(plan),
  });
  yield sse('message_stop', {});
}

/** `onEnd(cancelled)`: the body was read to its end (false) or the client stopped reading (true). */
export function streamResponse(
  plan: Plan,
  pingIntervalMs: number,
  requestId: string,
  onEnd?: (cancelled: boolean) => void,
): Response {
  const encoder = new TextEncoder();
  const source = events(plan, Math.max(1, pingIntervalMs));
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { value, done } = await source.next();
      if (done) {
        controller.close();
        onEnd?.(false);
      } else controller.enqueue(encoder.encode(value));
    },
    cancel() {
      onEnd?.(true);
      void source.return(undefined);
    },
  });
  return new Response(body, {
    status: 200,
    headers: {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'request-id': requestId,
    },
  });
}
