/**
 * Our SSE wire: `id:` + `event:` + one JSON `data:` line per event, and `: ping` comments
 * after a quiet interval so proxies and phones keep an idle stream open while Claude thinks.
 * Writes never wait on the client: a client that has gone away only flips `clientGone`,
 * and the turn goes on (it is still stored).
 */

import type { TurnAnswer } from '../contract/answer';
import type { TurnEvent } from '../contract/events';

const encoder = new TextEncoder();
const PING = ': ping\n\n';

/** The headers of every event stream we answer with. */
export const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no',
};

/**
 * One event on the wire, with the id `<turn>:<seq>` (API.md §3: `seq` counts the turn's
 * events from 0, so a client can name the last event it saw of a turn). The one encoder:
 * the live stream, the turn's log and the replay all use it. The text never holds a blank
 * line before its end (JSON escapes newlines), so a run of frames splits at `\n\n`.
 */
export function frame(turn: number, seq: number, { event, data }: TurnEvent): string {
  return `id: ${turn}:${seq}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** A turn's events as a complete stream. */
export function frames(turn: number, events: readonly TurnEvent[]): string {
  return events.map((event, seq) => frame(turn, seq, event)).join('');
}

/**
 * One reader's stream. A pull source: text waits here until the reader asks for more, then
 * everything written since leaves as one chunk. A reader that keeps up gets each
 * synchronous pass of events (all the events of one upstream chunk) as soon as the pass
 * ends; a reader that is busy writing the previous chunk gets what piled up meanwhile in
 * one piece, not one chunk per event — every chunk costs the runtime far more than its
 * bytes. Nothing waits on the reader: the turn goes on (and is stored) whatever the client
 * does.
 */
export class SseStream {
  readonly readable: ReadableStream<Uint8Array>;
  #controller!: ReadableStreamDefaultController<Uint8Array>;
  #lastWrite = Date.now();
  #timer: ReturnType<typeof setInterval>;
  #closed = false;
  #pending = '';
  /** A read is waiting for text. */
  #wanted = false;
  #flushQueued = false;
  clientGone = false;

  /** `onGone`: called once if the client goes away before the stream ends. */
  constructor(pingIntervalMs: number, onGone?: () => void) {
    this.readable = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.#controller = controller;
        },
        pull: () => {
          this.#wanted = true;
          this.#flush();
        },
        cancel: () => {
          this.clientGone = true;
          this.#pending = '';
          clearInterval(this.#timer);
          onGone?.();
        },
      },
      { highWaterMark: 0 },
    );
    // Check often enough that a ping goes out within ~1/4 interval of the deadline.
    this.#timer = setInterval(
      () => {
        if (Date.now() - this.#lastWrite >= pingIntervalMs) this.write(PING);
      },
      Math.max(10, Math.floor(pingIntervalMs / 4)),
    );
  }

  /** Frames (or a ping) for this reader, sent when the current synchronous pass ends. */
  write(text: string): void {
    if (this.#closed || this.clientGone || text === '') return;
    this.#lastWrite = Date.now();
    this.#pending += text;
    if (this.#wanted && !this.#flushQueued) {
      this.#flushQueued = true;
      queueMicrotask(() => {
        this.#flushQueued = false;
        this.#flush();
      });
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    if (this.clientGone) return;
    try {
      // Whatever is still pending is queued ahead of the close.
      if (this.#pending !== '') this.#controller.enqueue(encoder.encode(this.#pending));
      this.#pending = '';
      this.#controller.close();
    } catch {
      // already errored or cancelled
    }
  }

  #flush() {
    if (!this.#wanted || this.#pending === '' || this.#closed || this.clientGone) return;
    this.#wanted = false;
    const text = this.#pending;
    this.#pending = '';
    try {
      this.#controller.enqueue(encoder.encode(text));
    } catch {
      this.clientGone = true;
    }
  }
}

/**
 * A stored `/v1/chat` answer as the events a client would have received (for Idempotency-Key
 * replays): conversation, status, the text, tool calls, done.
 */
export function replayEvents(answer: TurnAnswer): TurnEvent[] {
  const events: TurnEvent[] = [
    { event: 'conversation', data: { conversation_id: answer.conversation_id, turn: answer.turn } },
    { event: 'status', data: { phase: 'answering' } },
  ];
  for (const block of answer.content) {
    if (block.type === 'text') events.push({ event: 'text', data: { text: block.text } });
    else
      events.push({
        event: 'tool_use',
        data: { id: block.id, name: block.name, input: block.input },
      });
  }
  const { stop_reason, stop_details, usage, turn } = answer;
  const details = stop_details ? { stop_details } : {};
  events.push({ event: 'done', data: { stop_reason, ...details, usage, turn } });
  return events;
}
