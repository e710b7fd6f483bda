/**
 * Warm-up, untimed: captures the upstream request the other targets are sent (see
 * `messagesBody`), then a few rounds of one streamed turn per target and a JSON turn on the
 * bare Worker.
 */
import { TARGETS, WARMUP_ROUNDS } from '../config';
import { jsonPost } from '../measure';
import {
  captureUpstreamRequest,
  type Endpoints,
  messagesBody,
  newConversation,
  streamTurn,
  upstreamHeaders,
} from '../turns';

export async function warmUp(e: Endpoints) {
  await captureUpstreamRequest(e);
  for (let r = 0; r < WARMUP_ROUNDS; r++) {
    const conv = await newConversation(e.edge.url, e.edgeKey);
    for (const t of TARGETS) await streamTurn(e, t, `warm-${r}-${t}`, '', conv);
    await jsonPost(`${e.bare.url}/v1/messages`, upstreamHeaders, messagesBody('warm', false));
  }
}
