/**
 * Reads the usage of a streamed Messages API answer as its bytes pass, without holding or
 * changing them: every chunk is handed on as it came, and only then read on the side, where
 * just `message_start` and `message_delta` are parsed. When the stream ends — read to the
 * end, failed, or cancelled by the client — `onEnd` gets the usage seen so far, once; after a
 * complete read the stream closes only once `onEnd` has settled, so a client that sees the
 * end can count on what `onEnd` does (the key's slot freed) being done.
 */
import type { MessageDeltaUsage, Usage } from '@anthropic-ai/sdk/resources/messages';
import { createParser } from 'eventsource-parser';
import type { TurnUsage } from '../contract/answer';
import { mergeUsage } from './usage';

export function tapUsage(
  body: ReadableStream<Uint8Array>,
  onEnd: (usage: TurnUsage) => Promise<void>,
): ReadableStream<Uint8Array> {
  const usage: TurnUsage = {
    input_tokens: 0,
    output_tokens: 0,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
  };
  const parser = createParser({
    onEvent: ({ event, data }) => {
      if (event !== 'message_start' && event !== 'message_delta') return;
      try {
        const parsed = JSON.parse(data) as {
          message?: { usage?: Usage };
          usage?: MessageDeltaUsage;
        };
        mergeUsage(usage, event === 'message_start' ? parsed.message?.usage : parsed.usage);
      } catch {
        // Not ours to judge: the client's SDK sees the same bytes.
      }
    },
  });
  const decoder = new TextDecoder();
  const reader = body.getReader();
  let ended: Promise<void> | undefined;
  const end = () => (ended ??= onEnd(usage).catch(() => {}));
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const { done, value } = await reader.read();
          if (done) {
            await end();
            controller.close();
            return;
          }
          controller.enqueue(value);
          parser.feed(decoder.decode(value, { stream: true }));
        } catch (err) {
          controller.error(err);
          void end();
        }
      },
      async cancel(reason) {
        void end();
        await reader.cancel(reason).catch(() => {});
      },
    },
    { highWaterMark: 0 },
  );
}

/** The usage of a whole JSON answer (its text unchanged for the client). */
export function usageOf(text: string): TurnUsage {
  const usage: TurnUsage = {
    input_tokens: 0,
    output_tokens: 0,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
  };
  try {
    mergeUsage(usage, (JSON.parse(text) as { usage?: Usage }).usage);
  } catch {
    // An answer that is not JSON has no usage to charge.
  }
  return usage;
}
