// @ts-check
/**
 * thinking-edge's chat box, served as `GET /embed.js` and run in the host page, not in the
 * Worker: `<script src="https://EDGE/embed.js" data-key="pk_…"></script>` (or `data-token="es_…"`
 * with `data-token-url`) puts it right after its own script tag, in an open shadow root so
 * that the page's styles and the box's never meet. Plain JavaScript with no dependency, served
 * as written (wrangler.toml imports it as text); `tsc -p src/embed` checks it.
 *
 * The key or token goes in the Authorization header of `fetch` calls, never in a URL. Answers
 * are streamed over SSE (`POST /v1/chat`) and rendered as text, never as HTML. A stream that
 * drops before its last event is picked up again with `GET /v1/conversations/:id/events` and
 * `Last-Event-ID`.
 */
(() => {
  const script = /** @type {HTMLScriptElement | null} */ (document.currentScript);
  // A module script or one injected by another script has no currentScript to read settings from.
  if (!script) return console.warn('thinking-edge: load /embed.js with a plain <script> tag');
  const data = script.dataset;
  const base = new URL('.', script.src).href.replace(/\/$/, '');
  const key = data.key;
  const tokenUrl = data.tokenUrl;
  let token = data.token;
  /** When the token expires (0: not known), and how long before that it is renewed. */
  let expiresAt = 0;
  let margin = 0;
  function expires(/** @type {string | undefined} */ at) {
    expiresAt = Date.parse(at || '') || 0;
    // 30 s before, or in the last third of a shorter life, so a fresh token is never renewed.
    margin = Math.min(30_000, (expiresAt - Date.now()) / 3);
  }
  expires(data.expiresAt);
  if (!key && !token && !tokenUrl) {
    return console.warn('thinking-edge: set data-key="pk_…", or data-token and data-token-url');
  }
  // Two boxes on one page (another edge, another key) keep their own conversations.
  const storeKey = `thinking-edge:${base}:${key || tokenUrl || 'token'}`;

  const host = document.createElement('thinking-edge-chat');
  const root = host.attachShadow({ mode: 'open' });
  // The page's own rules still reach the host element and win over :host, so .box resets
  // everything it would inherit from there.
  root.innerHTML = `<style>
:host{all:initial;display:block}
.box{all:initial;display:block;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1c1c21;background:#fff;border:1px solid #cfd0d6;border-radius:12px;padding:12px 14px;max-width:38rem;text-align:left}
*{box-sizing:border-box}
h2{font-size:16px;font-weight:600;margin:0 0 8px}
.log{max-height:26rem;overflow-y:auto;display:flex;flex-direction:column;gap:8px}
.q,.a,.err{margin:0;padding:8px 10px;border-radius:10px;white-space:pre-wrap;overflow-wrap:anywhere}
.q{align-self:flex-end;background:#e8eefc;max-width:85%}
.a{align-self:flex-start;background:#f3f3f5;max-width:95%}
.wait{color:#5b5b66;font-style:italic}
.err{background:#fdecea;color:#8a1c12}
.status{min-height:1.5em;margin:4px 0;color:#5b5b66;font-size:13px}
label{display:block;font-size:13px;margin-bottom:4px;color:#3b3b44}
.row{display:flex;gap:8px;align-items:flex-end}
textarea{flex:1;font:inherit;color:inherit;background:#fff;border:1px solid #a9aab3;border-radius:8px;padding:6px 8px;resize:vertical;min-height:2.4em}
button{font:inherit;font-weight:600;color:#fff;background:#2d5bd7;border:0;border-radius:8px;padding:7px 16px;cursor:pointer}
button:disabled{background:#8d9fd6;cursor:default}
textarea:focus-visible,button:focus-visible{outline:3px solid #f0a500;outline-offset:1px}
.hint{font-size:12px;color:#5b5b66;margin:4px 0 0}
</style><section class="box" aria-labelledby="t"><h2 id="t"></h2>
<div class="log" role="log" aria-live="polite" aria-labelledby="t"></div>
<p class="status" role="status"></p>
<form><label for="q">Your question</label><div class="row">
<textarea id="q" rows="2" aria-describedby="h"></textarea><button type="submit">Send</button></div>
<p class="hint" id="h">Enter sends, Shift+Enter starts a new line.</p></form></section>`;
  const $ = (/** @type {string} */ selector) =>
    /** @type {HTMLElement} */ (root.querySelector(selector));
  const log = $('.log');
  const status = $('.status');
  const form = /** @type {HTMLFormElement} */ ($('form'));
  const input = /** @type {HTMLTextAreaElement} */ ($('textarea'));
  const button = /** @type {HTMLButtonElement} */ ($('button'));
  $('h2').textContent = data.title || 'Ask a question';
  script.after(host);

  /** @type {string | null} */
  let conversation = null;
  try {
    conversation = sessionStorage.getItem(storeKey);
  } catch {
    // Storage can be blocked (sandboxed frames, some privacy settings): the box still works.
  }
  function remember(/** @type {string | null} */ id) {
    conversation = id;
    try {
      if (id) sessionStorage.setItem(storeKey, id);
      else sessionStorage.removeItem(storeKey);
    } catch {
      // see above
    }
  }

  /** @param {string} cls @param {string} text */
  function bubble(cls, text) {
    const p = document.createElement('p');
    p.className = cls;
    p.textContent = text;
    const follow = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
    log.append(p);
    if (follow) log.scrollTop = log.scrollHeight;
    return p;
  }

  /**
   * One answer being written: its bubble, and the last event id seen, from which a dropped
   * stream is resumed.
   * @typedef {{ el: HTMLElement, text: Text | null, last: string, ended: boolean }} Turn
   */
  /** @returns {Turn} */
  function answer() {
    const el = bubble('a wait', '…');
    return { el, text: null, last: '', ended: false };
  }

  function setBusy(/** @type {boolean} */ busy) {
    button.disabled = busy;
    // Screen readers hear the answer once it is whole, not word by word.
    log.setAttribute('aria-busy', String(busy));
    if (!busy) status.textContent = '';
  }

  function end(/** @type {Turn} */ turn) {
    turn.ended = true;
    if (!turn.text) turn.el.remove();
  }

  /** @param {Turn} turn @param {string} message */
  function fail(turn, message) {
    end(turn);
    bubble('err', message).setAttribute('role', 'alert');
  }

  // ---- the wire ----

  const sleep = (/** @type {number} */ ms) => new Promise((done) => setTimeout(done, ms));

  class RenewalError extends Error {}

  /** @type {Promise<void> | null} */
  let renewing = null;
  /** A fresh `es_` token from the host site (which mints it with its secret key). */
  function renew() {
    renewing ??= (async () => {
      try {
        // POST, so that no cache between the page and its site keeps a token.
        const res = await fetch(/** @type {string} */ (tokenUrl), {
          method: 'POST',
          credentials: 'same-origin',
          headers: { accept: 'application/json' },
        });
        if (!res.ok) throw new RenewalError(`the token URL answered ${res.status}`);
        const fresh = await res.json();
        token = fresh.token;
        expires(fresh.expires_at);
      } catch (e) {
        throw e instanceof RenewalError ? e : new RenewalError(String(e));
      } finally {
        renewing = null;
      }
    })();
    return renewing;
  }

  /**
   * A call to the edge with the key or token. An `es_` token about to expire is renewed first;
   * one that is refused is renewed and the call sent once more. So is a call that failed with
   * no answer the page may read: the edge makes its 401 readable only to origins it knows,
   * and a request the network lost deserves one more try anyway.
   * @param {string} path @param {RequestInit} [init] @returns {Promise<Response>}
   */
  async function call(path, init = {}, retried = false) {
    const renewable = !key && !!tokenUrl && !retried;
    if (!key && tokenUrl && (!token || (expiresAt && expiresAt - Date.now() < margin))) {
      await renew();
    }
    const headers = { ...init.headers, authorization: `Bearer ${key || token}` };
    /** @type {Response} */
    let res;
    try {
      res = await fetch(base + path, { ...init, headers, credentials: 'omit' });
    } catch (e) {
      if (!renewable) throw e;
      await renew();
      return call(path, init, true);
    }
    if (res.status === 401 && renewable) {
      await renew();
      return call(path, init, true);
    }
    return res;
  }

  /** @param {string} message */
  function chat(message) {
    return call('/v1/chat', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({
        message,
        stream: true,
        ...(conversation ? { conversation_id: conversation } : {}),
      }),
    });
  }

  /**
   * Reads an SSE body into the turn until its last event; false when the stream ended (or
   * dropped) before it. Our streams end lines with `\n` only.
   * @param {Response} res @param {Turn} turn
   */
  async function read(res, turn) {
    const reader = /** @type {ReadableStream<Uint8Array>} */ (res.body).getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return false;
        buffer += decoder.decode(value, { stream: true });
        for (let end; (end = buffer.indexOf('\n\n')) >= 0;) {
          handle(buffer.slice(0, end), turn);
          buffer = buffer.slice(end + 2);
          if (turn.ended) {
            reader.cancel().catch(() => {});
            return true;
          }
        }
      }
    } catch {
      return false; // the connection dropped
    }
  }

  /** One SSE event (`id:`, `event:`, `data:` lines; `:` comments are pings). @param {string} block @param {Turn} turn */
  function handle(block, turn) {
    let event = 'message';
    let data = '';
    for (const line of block.split('\n')) {
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + (line[colon + 1] === ' ' ? 2 : 1));
      if (field === 'id') turn.last = value;
      else if (field === 'event') event = value;
      else if (field === 'data') data += value;
    }
    if (!data) return;
    const body = JSON.parse(data);
    if (event === 'conversation') remember(body.conversation_id);
    else if (event === 'status') {
      // `compacting`: Claude summarises a long conversation before it answers.
      const words =
        body.phase === 'compacting'
          ? 'Catching up…'
          : body.phase === 'thinking'
            ? 'Thinking…'
            : undefined;
      status.textContent = words ?? 'Answering…';
      if (!turn.text) turn.el.textContent = words ? words.toLowerCase() : '…';
    } else if (event === 'text') {
      if (!turn.text) {
        turn.el.className = 'a';
        turn.text = document.createTextNode('');
        turn.el.replaceChildren(turn.text);
      }
      const follow = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
      turn.text.appendData(body.text);
      if (follow) log.scrollTop = log.scrollHeight;
    } else if (event === 'done' || event === 'cancelled') end(turn);
    else if (event === 'error') fail(turn, streamError(body.type));
    // tool_use: this box declares no tools, so there are none to show.
  }

  /**
   * Follows a turn to its end, reattaching when its stream drops: a few tries with backoff,
   * counted afresh whenever a reattached stream brought events.
   * @param {Response} res @param {Turn} turn
   */
  async function follow(res, turn) {
    let tries = 0;
    for (;;) {
      const from = turn.last;
      if (await read(res, turn)) return;
      if (turn.last !== from) tries = 0;
      if (!conversation || !turn.last) {
        return fail(turn, 'The connection dropped before the answer began. Ask again.');
      }
      /** @type {Response | null} */
      let next = null;
      while (!next) {
        if (tries === 4) {
          return fail(turn, 'The connection dropped and the answer could not be picked up again.');
        }
        await sleep(400 * 2 ** tries++);
        next = await call(`/v1/conversations/${conversation}/events`, {
          headers: { 'last-event-id': turn.last },
        }).catch(() => null);
      }
      if (next.status === 204) return end(turn); // nothing followed the last event we had
      if (!next.ok) return fail(turn, await refusal(next));
      res = next;
    }
  }

  // ---- errors, in words ----

  /** @param {string} type */
  function streamError(type) {
    if (type === 'overloaded_error')
      return 'The service is overloaded right now. Try again in a moment.';
    if (type === 'timeout_error') return 'The answer took too long and was stopped. Try again.';
    if (type === 'rate_limit_error') return 'Too many requests right now. Try again in a minute.';
    return `Something went wrong while answering (${type}). Try again.`;
  }

  /** An HTTP refusal as a sentence. @param {Response} res */
  async function refusal(res) {
    const wait = res.headers.get('retry-after');
    let message = '';
    try {
      message = (await res.json()).error.message;
    } catch {
      // not our error body
    }
    switch (res.status) {
      case 429:
        return `Too many requests — try again in ${wait ?? 60} s.`;
      case 401:
        return key
          ? 'This chat box is not set up right: its key was refused. The site’s owner can fix this.'
          : 'Your chat session has ended. Reload the page to go on.';
      case 403:
        return `This page may not use this chat box. ${message}`;
      case 409:
        return 'The previous answer is still being written. Try again in a moment.';
      case 413:
        return 'That message is too long. Shorten it and try again.';
    }
    if (res.status >= 500)
      return `The service is having trouble (${res.status}). Try again shortly.`;
    return message || `The request was refused (${res.status}).`;
  }

  /**
   * Why a call failed without an answer the page may read: a browser hides the edge's 403 from
   * a page whose origin the key does not allow, so ask whether the edge is reachable at all.
   */
  async function unreachable() {
    try {
      await fetch(`${base}/health`, { mode: 'no-cors', cache: 'no-store', credentials: 'omit' });
      return 'The chat service refused this page: this site is not allowed to use this chat box.';
    } catch {
      return 'Could not reach the chat service. Check your connection and try again.';
    }
  }

  // ---- the box ----

  /** @param {string} message */
  async function ask(message) {
    setBusy(true);
    bubble('q', message);
    const turn = answer();
    try {
      let res = await chat(message);
      if (res.status === 404 && conversation) {
        // The conversation expired or was deleted: start a new one with the same question.
        remember(null);
        res = await chat(message);
      }
      if (!res.ok) fail(turn, await refusal(res));
      else await follow(res, turn);
    } catch (e) {
      fail(
        turn,
        e instanceof RenewalError
          ? 'Your chat session has ended and could not be renewed. Reload the page to go on.'
          : await unreachable(),
      );
    } finally {
      setBusy(false);
    }
  }

  /** After a reload: the conversation so far, and the turn still being written, if one is. */
  async function restore() {
    setBusy(true); // a question asked now would land above the earlier ones
    try {
      const res = await call(`/v1/conversations/${conversation}`);
      if (res.status === 404) return remember(null);
      if (!res.ok) return;
      const transcript = await res.json();
      for (const m of transcript.messages) {
        const text =
          typeof m.content === 'string'
            ? m.content
            : m.content
                .filter((/** @type {{type: string}} */ b) => b.type === 'text')
                .map((/** @type {{text: string}} */ b) => b.text)
                .join('');
        if (text) bubble(m.role === 'user' ? 'q' : 'a', text);
      }
      if (transcript.running) {
        // Without an id, the events route gives the running turn from its start.
        const turn = answer();
        const events = await call(`/v1/conversations/${conversation}/events`);
        if (events.status === 200) await follow(events, turn);
        else end(turn);
      }
    } catch {
      // Nothing to restore; the box works for new questions all the same.
    } finally {
      setBusy(false);
    }
  }

  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      form.requestSubmit();
    }
  });
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const message = input.value.trim();
    if (!message || button.disabled) return;
    input.value = '';
    ask(message);
  });
  if (conversation) restore();
})();
