// `POST /v1/messages/count_tokens`: the prompt's size as a request's usage would count it
// (`input_tokens + cache_creation_input_tokens + cache_read_input_tokens`), from the same
// layout the prompt cache uses. Read-only: counting neither reads nor writes the cache, and
// signatures are not checked (the API counts a history it would refuse to run). Existing
// compaction blocks apply (only the history from the latest one counts); counting never
// triggers a new compaction and does not enforce the context window.

import { conversationView } from './compaction';
import { promptLayout } from './prompt-layout';
import { validate } from './validate';

export async function countTokens(body: unknown, headers: Headers, url: URL): Promise<number> {
  const valid = validate(body, headers, url, { countTokens: true });
  const view = conversationView(valid.params.messages);
  const layout = await promptLayout(valid, valid.latency.speed, view);
  return layout.totalTokens;
}
