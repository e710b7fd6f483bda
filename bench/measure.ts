/**
 * Client side of the benchmark: timed requests, every one with a timeout (the statistics are
 * in ./stats). All times are `performance.now()` milliseconds, the clock the simulator's taps
 * use too.
 */

/** Every request gives up after this long, so no loop can hang on a stuck server. */
export const REQUEST_TIMEOUT_MS = 30_000;

export interface StreamMarks {
  status: number;
  /** When the request was sent. */
  t0: number;
  /** ms after t0: first body chunk, `event: conversation`, first text, end of the body. */
  firstByte: number;
  conversation: number;
  firstText: number;
  end: number;
  /** The whole body (only when asked for). */
  body: string;
}

/**
 * POSTs `body` and reads the event stream to its end, noting when the first chunk, the
 * `event: conversation` line and `textNeedle` (the first text event) arrived. Throws unless
 * the status is 200 and both `textNeedle` and `endNeedle` (the stream's last event) came.
 */
export async function streamMarks(
  url: string,
  headers: Record<string, string>,
  body: unknown,
  textNeedle: string,
  endNeedle: string,
  keepBody = false,
): Promise<StreamMarks> {
  const t0 = performance.now();
  const res = await postJson(url, headers, body);
  const marks: StreamMarks = {
    status: res.status,
    t0,
    firstByte: NaN,
    conversation: NaN,
    firstText: NaN,
    end: NaN,
    body: '',
  };
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let tail = '';
  let head = '';
  let ended = false;
  for (;;) {
    const { done, value } = await reader.read();
    const now = performance.now() - t0;
    if (done) break;
    if (!value) continue;
    if (Number.isNaN(marks.firstByte)) marks.firstByte = now;
    const window = tail + value;
    if (Number.isNaN(marks.conversation) && window.includes('event: conversation'))
      marks.conversation = now;
    if (Number.isNaN(marks.firstText) && window.includes(textNeedle)) marks.firstText = now;
    if (!ended && window.includes(endNeedle)) ended = true;
    tail = window.slice(-64);
    if (keepBody) marks.body += value;
    else if (head.length < 600) head += value;
  }
  marks.end = performance.now() - t0;
  if (res.status !== 200 || Number.isNaN(marks.firstText) || !ended) {
    throw new Error(
      `${url}: status ${res.status}, "${textNeedle}" ${Number.isNaN(marks.firstText) ? 'missing' : 'seen'}, "${endNeedle}" ${ended ? 'seen' : 'missing'}: ${(keepBody ? marks.body : head).slice(0, 300)}`,
    );
  }
  return marks;
}

/** POSTs `body` as JSON, giving up after REQUEST_TIMEOUT_MS. */
function postJson(url: string, headers: Record<string, string>, body: unknown): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers,
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
}

/**
 * A non-streamed POST read to its end; returns its latency in ms and the parsed JSON, typed
 * `T` on the caller's word (unchecked).
 */
export async function jsonPost<T = unknown>(
  url: string,
  headers: Record<string, string>,
  body: unknown,
): Promise<{ ms: number; json: T }> {
  const t0 = performance.now();
  const res = await postJson(url, headers, body);
  const text = await res.text();
  const ms = performance.now() - t0;
  if (!res.ok) throw new Error(`${url}: ${res.status} ${text.slice(0, 300)}`);
  return { ms, json: JSON.parse(text) as T };
}

/** Runs `task` at most `limit` at a time over `items`. */
export async function pool<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await task(items[i]!, i);
      }
    }),
  );
  return out;
}

export interface Load {
  latencies: number[];
  errors: number;
  elapsedMs: number;
}

/** `count` requests, `connections` at a time, each connection sending one after another. */
export async function fixedLoad(
  connections: number,
  count: number,
  once: () => Promise<number>,
): Promise<Load> {
  const latencies: number[] = [];
  let errors = 0;
  let left = count;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(connections, count) }, async () => {
      while (left > 0) {
        left--;
        try {
          latencies.push(await once());
        } catch {
          errors++;
        }
      }
    }),
  );
  return { latencies, errors, elapsedMs: performance.now() - start };
}
