/**
 * Turns through the three targets: thinking-edge's `/v1/chat`, and the Messages API request
 * it sends upstream, replayed to the bare Worker and to the simulator directly. Each turn's
 * text carries a `bench#<tag>` so that the simulator's tap for it can be found.
 */
import { type Target, PORTS, UPSTREAM_KEY } from './config';
import { jsonPost, REQUEST_TIMEOUT_MS, streamMarks, type StreamMarks } from './measure';
import type { DevServer, SimServer, Tap } from './servers';

/** The running servers and the keys minted on the two thinking-edge instances. */
export interface Endpoints {
  sim: SimServer;
  bare: DevServer;
  edge: DevServer;
  counting: DevServer;
  /** thinking-edge's key for every phase but those across many keys. */
  edgeKey: string;
  /** More keys on thinking-edge (EXTRA_KEYS of them), for the phases across many keys. */
  edgeKeys: string[];
  countingKey: string;
}

/** Completed at warm-up with the `anthropic-beta` thinking-edge sent (compaction's, say). */
export const upstreamHeaders: Record<string, string> = {
  'x-api-key': UPSTREAM_KEY,
  'anthropic-version': '2026-10-21',
  'content-type': 'application/json',
};

export const edgeHeaders = (key: string) => ({
  authorization: `Bearer ${key}`,
  'content-type': 'application/json',
});

/**
 * What the bare Worker and the simulator are sent: the very request thinking-edge sent
 * upstream for a continuing turn (captured once at warm-up: history with its signed
 * thinking block, cache breakpoints, diagnostics), with only the last user text swapped. So
 * the upstream does the same work for all three targets, and the edge − bare difference is
 * the edge's own.
 */
let upstreamTemplate: Record<string, unknown> | null = null;

export const messagesBody = (text: string, stream: boolean) => {
  if (!upstreamTemplate) throw new Error('no upstream request captured yet');
  const messages = structuredClone(upstreamTemplate.messages) as Array<{
    role: string;
    content: unknown;
  }>;
  messages[messages.length - 1] = { role: 'user', content: text };
  return { ...upstreamTemplate, messages, stream };
};

/** Sends one continuing edge turn and keeps the request the simulator received for it. */
export async function captureUpstreamRequest(e: Endpoints) {
  const conv = await newConversation(e.edge.url, e.edgeKey);
  await jsonPost(`${e.edge.url}/v1/chat`, edgeHeaders(e.edgeKey), {
    conversation_id: conv,
    message: 'bench#template-0 capture',
  });
  const raw = e.sim.templates.get('template-0');
  if (!raw) throw new Error('the simulator did not see the template request');
  upstreamTemplate = JSON.parse(raw.body) as Record<string, unknown>;
  if (raw.beta) upstreamHeaders['anthropic-beta'] = raw.beta;
  const messages = upstreamTemplate.messages as unknown[];
  if (messages.length !== 3) throw new Error(`template has ${messages.length} messages, not 3`);
}

let lastEdgeTurn = 0;

/** When thinking-edge (not the counting instance) last had a turn (`performance.now()`). */
export const lastEdgeTurnAt = () => lastEdgeTurn;

/** Notes a thinking-edge turn, for the alarm wait before its CPU window. */
export function edgeTurnDone() {
  lastEdgeTurn = performance.now();
}

/** A one-turn conversation (untimed), to be continued by a measured turn. */
export async function newConversation(url: string, key: string): Promise<string> {
  // Untimed set-up: a 503 from wrangler's dev proxy under load (see BENCHMARKS.md) is retried
  // rather than ending the run.
  for (let attempt = 1; ; attempt++) {
    try {
      const { json } = await jsonPost<{ conversation_id: string }>(
        `${url}/v1/chat`,
        edgeHeaders(key),
        {
          message: 'bench setup',
        },
      );
      if (url.endsWith(`:${PORTS.edge}`)) edgeTurnDone();
      return json.conversation_id;
    } catch (err) {
      if (attempt >= 3 || !/\b503\b/.test(String(err))) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/**
 * `GET /v1/conversations/:id` with the conversation's key: its status and, when 200, its
 * `turns` (completed assistant turns, as stored).
 */
export async function storedTurns(
  url: string,
  key: string,
  conversationId: string,
): Promise<{ status: number; turns?: number }> {
  const res = await fetch(`${url}/v1/conversations/${conversationId}`, {
    headers: { authorization: `Bearer ${key}` },
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  if (res.status !== 200) {
    await res.body?.cancel();
    return { status: res.status };
  }
  const { turns } = (await res.json()) as { turns: number };
  return { status: 200, turns };
}

export interface Sample {
  marks: StreamMarks;
  /** The round it belongs to (concurrency 1), to pair targets of the same round. */
  round?: number;
  /** The simulator's tap for this request, in ms after the client sent it. */
  upstream?: { arrive: number; firstByte: number; firstText: number };
}

function relativeTap(tap: Tap | undefined, t0: number): Sample['upstream'] {
  if (!tap) return undefined;
  return {
    arrive: tap.arrive - t0,
    firstByte: tap.firstByte - t0,
    firstText: tap.firstText - t0,
  };
}

/**
 * One streamed turn through `target`, its text tagged so the simulator's tap can find it.
 * thinking-edge continues `conversationId` with `key`: the key it was created with.
 */
export async function streamTurn(
  e: Endpoints,
  target: Target,
  tag: string,
  directives: string,
  conversationId?: string,
  key: string = e.edgeKey,
): Promise<Sample> {
  const text = `bench#${tag} ${directives}`;
  let marks: StreamMarks;
  if (target === 'edge') {
    marks = await streamMarks(
      `${e.edge.url}/v1/chat`,
      edgeHeaders(key),
      { conversation_id: conversationId, message: text, stream: true },
      'event: text',
      'event: done',
    );
    edgeTurnDone();
  } else {
    const base = target === 'direct' ? e.sim.url : e.bare.url;
    marks = await streamMarks(
      `${base}/v1/messages`,
      upstreamHeaders,
      messagesBody(text, true),
      '"text_delta"',
      'message_stop',
    );
  }
  const upstream = relativeTap(e.sim.taps.get(tag), marks.t0);
  e.sim.taps.delete(tag);
  return upstream ? { marks, upstream } : { marks };
}

/** The streamed turns of a first-text phase, by target, with the failed ones counted. */
export interface Collected {
  samples: Record<Target, Sample[]>;
  errors: Record<Target, number>;
  lastError: Partial<Record<Target, string>>;
}

export const emptyCollected = (): Collected => ({
  samples: { direct: [], bare: [], edge: [] },
  errors: { direct: 0, bare: 0, edge: 0 },
  lastError: {},
});
