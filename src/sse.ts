/**
 * Our SSE wire: `id:` + `event:` + one JSON `data:` line per event, and `: ping` comments
 * after a quiet interval so proxies and phones keep an idle stream open while Claude thinks.
 * Writes never wait on the client: a client that has gone away only flips `clientGone`,
 * and the turn goes on (it is still stored).
 */

const encoder = new TextEncoder();
const PING = encoder.encode(': ping\n\n');

export class SseStream {
  readonly readable: ReadableStream<Uint8Array>;
  #controller!: ReadableStreamDefaultController<Uint8Array>;
  #nextId = 0;
  #lastWrite = Date.now();
  #timer: ReturnType<typeof setInterval>;
  #closed = false;
  #pending = '';
  #flushQueued = false;
  clientGone = false;

  constructor(pingIntervalMs: number) {
    // A plain ReadableStream: enqueueing is synchronous and allocates no promise per event,
    // and `cancel` tells us the client went away.
    this.readable = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.#controller = controller;
      },
      cancel: () => {
        this.clientGone = true;
      },
    });
    // Check often enough that a ping goes out within ~1/4 interval of the deadline.
    this.#timer = setInterval(
      () => {
        if (Date.now() - this.#lastWrite >= pingIntervalMs) this.#write(PING);
      },
      Math.max(10, Math.floor(pingIntervalMs / 4)),
    );
  }

  /**
   * Events sent in one synchronous pass (all the events of one upstream chunk) leave as one
   * chunk, at the end of that pass: one encode and one write instead of one per event, and
   * no later than a write per event would have.
   */
  send(event: string, data: unknown): void {
    if (this.#closed || this.clientGone) return;
    this.#pending += `id: ${this.#nextId++}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    queueMicrotask(() => this.#flush());
  }

  close(): void {
    if (this.#closed) return;
    this.#flush();
    this.#closed = true;
    clearInterval(this.#timer);
    if (this.clientGone) return;
    try {
      this.#controller.close();
    } catch {
      // already errored or cancelled
    }
  }

  #flush() {
    this.#flushQueued = false;
    if (this.#pending === '') return;
    const text = this.#pending;
    this.#pending = '';
    this.#write(encoder.encode(text));
  }

  #write(chunk: Uint8Array) {
    if (this.#closed || this.clientGone) return;
    this.#lastWrite = Date.now();
    try {
      this.#controller.enqueue(chunk);
    } catch {
      this.clientGone = true;
    }
  }
}

export function wantsEventStream(accept: string | undefined, stream: boolean | undefined): boolean {
  return stream === true || (stream === undefined && (accept ?? '').includes('text/event-stream'));
}

/**
 * A stored `/v1/chat` answer as the complete event stream a client would have received
 * (for Idempotency-Key replays): conversation, status, the text, tool calls, done.
 */
export function replayAsEventStream(answer: {
  conversation_id: string;
  turn: number;
  content: Array<{ type: string; text?: string; id?: string; name?: string; input?: unknown }>;
  stop_reason: string | null;
  usage: unknown;
}): string {
  const events: Array<[string, unknown]> = [
    ['conversation', { conversation_id: answer.conversation_id, turn: answer.turn }],
    ['status', { phase: 'answering' }],
  ];
  for (const block of answer.content) {
    if (block.type === 'text') events.push(['text', { text: block.text }]);
    else if (block.type === 'tool_use')
      events.push(['tool_use', { id: block.id, name: block.name, input: block.input }]);
  }
  events.push([
    'done',
    { stop_reason: answer.stop_reason, usage: answer.usage, turn: answer.turn },
  ]);
  return events
    .map(([event, data], id) => `id: ${id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`)
    .join('');
}
