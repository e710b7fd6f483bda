/**
 * Reads the upstream's SSE body into typed wire events. Every event of a network chunk is
 * handed over in one synchronous pass (no promise per event, unlike iterating the SDK's
 * `Stream`), so a chunk of ten text deltas costs one read and, downstream, one write.
 * `ping`s are seen too (the SDK's iterator hides them): any byte counts as upstream life.
 */
import { createParser } from 'eventsource-parser';
import type { WireEvent } from './stream';

export interface ReadOptions {
  /** Called for every chunk that arrives, before its events. */
  onBytes?: () => void;
  /** Ends the read (the body is cancelled) when it fires. */
  signal?: AbortSignal;
}

export class MalformedEvent extends Error {}

export async function readEvents(
  body: ReadableStream<Uint8Array>,
  onEvent: (event: WireEvent) => void,
  { onBytes, signal }: ReadOptions = {},
): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const parser = createParser({
    onEvent({ data }) {
      let event: WireEvent;
      try {
        event = JSON.parse(data) as WireEvent;
      } catch {
        throw new MalformedEvent(`Claude sent an event that is not JSON: ${data.slice(0, 80)}`);
      }
      onEvent(event);
    },
  });
  // The connection below may not notice an abort on its own: cancelling our read does.
  const stop = () => void reader.cancel(signal?.reason).catch(() => {});
  signal?.addEventListener('abort', stop, { once: true });
  let ended = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done || signal?.aborted) break;
      onBytes?.();
      parser.feed(decoder.decode(value, { stream: true }));
    }
    parser.feed(decoder.decode());
    ended = true;
  } finally {
    signal?.removeEventListener('abort', stop);
    // A read given up on (bad event, a throwing handler) must not leave the upstream open.
    if (!ended) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}
