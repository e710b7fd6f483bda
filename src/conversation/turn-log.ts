/**
 * A turn's events, numbered and framed once, for every reader of the turn: the stream of
 * the `/v1/chat` request that started it and any number of readers that attach later
 * (`GET /v1/conversations/:id/events`), each from where it left off. A frame goes to the
 * live readers in the same step it is logged, so keeping it costs the first byte nothing;
 * the log is only written to storage once the turn has ended (events-store.ts).
 */
import type { TurnEvent } from '../contract/events';
import { frame, SseStream } from './sse';

export class TurnLog {
  readonly turn: number;
  /** Every event of the turn so far, as sent. */
  readonly frames: string[] = [];
  #readers = new Set<SseStream>();
  #ended = false;

  constructor(turn: number) {
    this.turn = turn;
  }

  get ended(): boolean {
    return this.#ended;
  }

  append(event: TurnEvent): void {
    if (this.#ended) return;
    const text = frame(this.turn, this.frames.length, event);
    this.frames.push(text);
    for (const reader of this.#readers) reader.write(text);
  }

  /**
   * A new reader: the events after `afterSeq` (-1 for all) at once, then the live ones to
   * the end. A reader that goes away only leaves the set.
   */
  attach(afterSeq: number, pingIntervalMs: number): ReadableStream<Uint8Array> {
    const reader = new SseStream(pingIntervalMs, () => this.#readers.delete(reader));
    reader.write(this.frames.slice(afterSeq + 1).join(''));
    if (this.#ended) reader.close();
    else this.#readers.add(reader);
    return reader.readable;
  }

  /** The turn is over: every reader's stream ends after what it was sent. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    for (const reader of this.#readers) reader.close();
    this.#readers.clear();
  }
}
