/** Reads SSE the way a client would (eventsource-parser), for upstream fixtures and our own streams. */
import { createParser, type EventSourceMessage } from 'eventsource-parser';

export interface SseEvent {
  id?: string;
  event: string;
  data: any;
}

export function parseSse(text: string): SseEvent[] {
  const events: SseEvent[] = [];
  const parser = createParser({
    onEvent: (m: EventSourceMessage) =>
      events.push({ id: m.id, event: m.event ?? 'message', data: JSON.parse(m.data) }),
  });
  parser.feed(text);
  return events;
}

/** The comments (`: ping`) in a raw SSE body. */
function sseComments(text: string): string[] {
  const comments: string[] = [];
  const parser = createParser({ onEvent: () => {}, onComment: (c) => comments.push(c.trim()) });
  parser.feed(text);
  return comments;
}

/** Reads a streamed Response as it arrives, noting when each event came. */
export async function readEventStream(response: Response) {
  const events: Array<SseEvent & { at: number }> = [];
  const comments: string[] = [];
  const parser = createParser({
    onEvent: (m) =>
      events.push({
        id: m.id,
        event: m.event ?? 'message',
        data: JSON.parse(m.data),
        at: Date.now(),
      }),
    onComment: (c) => comments.push(c.trim()),
  });
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parser.feed(value);
  }
  return { events, comments };
}
