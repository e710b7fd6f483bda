/**
 * `npm run dev`: thinking-edge under `wrangler dev` on http://127.0.0.1:8787 with local KV.
 * Without ANTHROPIC_API_KEY it first starts the bundled Messages API simulator and points
 * the Worker at it, so everything works offline. It also starts a small webhook receiver
 * (http://127.0.0.1:8790/hooks) that verifies job callbacks with the `standardwebhooks`
 * library and prints them. Then it mints a development key and prints curl lines that work
 * as they are, and serves a demo page with the chat box (`/embed.js`) on
 * http://127.0.0.1:8795/, with a publishable key minted for that origin.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { serve } from '@hono/node-server';
import { Webhook } from 'standardwebhooks';
import { createSimulator } from '../simulator';
import { embedTag, hostPage } from './embed-page';

const PORT = Number(process.env.PORT ?? 8787);
const SIMULATOR_PORT = Number(process.env.SIMULATOR_PORT ?? 8788);
const ADMIN_TOKEN = process.env.ADMIN_TOKEN ?? 'dev-admin-token';
const RECEIVER_PORT = Number(process.env.WEBHOOK_RECEIVER_PORT ?? 8790);
const DEMO_PORT = Number(process.env.EMBED_DEMO_PORT ?? 8795);
const demoOrigin = `http://127.0.0.1:${DEMO_PORT}`;
const receiverUrl = `http://127.0.0.1:${RECEIVER_PORT}/hooks`;
const realKey = process.env.ANTHROPIC_API_KEY;
const base = `http://127.0.0.1:${PORT}`;

// Loopback callbacks (http://127.0.0.1:PORT only) so that jobs can call the receiver below.
const vars: Record<string, string> = { ADMIN_TOKEN, ALLOW_LOOPBACK_CALLBACKS: '1' };
if (realKey) {
  vars.ANTHROPIC_API_KEY = realKey;
  if (process.env.ANTHROPIC_BASE_URL) vars.ANTHROPIC_BASE_URL = process.env.ANTHROPIC_BASE_URL;
} else {
  const simulator = createSimulator({ apiKey: 'sim-dev-key' });
  serve({ fetch: simulator.fetch, port: SIMULATOR_PORT, hostname: '127.0.0.1' });
  vars.ANTHROPIC_API_KEY = 'sim-dev-key';
  vars.ANTHROPIC_BASE_URL = `http://127.0.0.1:${SIMULATOR_PORT}`;
  console.log(
    `No ANTHROPIC_API_KEY: using the Messages API simulator on ${vars.ANTHROPIC_BASE_URL}`,
  );
}

const args = ['wrangler', 'dev', '--ip', '127.0.0.1', '--port', String(PORT)];
for (const [name, value] of Object.entries(vars)) args.push('--var', `${name}:${value}`);
const wrangler: ChildProcess = spawn('npx', args, {
  stdio: ['ignore', 'inherit', 'inherit'],
  env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
});
wrangler.on('exit', (code) => process.exit(code ?? 0));
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    wrangler.kill(signal);
    setTimeout(() => process.exit(0), 2000).unref();
  });
}

await waitForHealth();
const { key, webhook_secret } = await mintDevKey();
startReceiver(webhook_secret);
const demoTag = await startEmbedDemo();
console.log(`
thinking-edge is running on ${base}${realKey ? '' : ' (answers come from the simulator)'}
Development key (shown once): ${key}
Admin token: ${ADMIN_TOKEN}

  curl -s ${base}/v1/chat -H 'authorization: Bearer ${key}' -H 'content-type: application/json' \\
    -d '{"message":"Why is the sky blue?"}'

  curl -N ${base}/v1/chat -H 'authorization: Bearer ${key}' -H 'content-type: application/json' \\
    -d '{"message":"Why is the sky blue?","stream":true}'

A job (answers 202 at once; the result is POSTed, signed, to the receiver, which prints it):

  curl -s ${base}/v1/jobs -H 'authorization: Bearer ${key}' -H 'content-type: application/json' \\
    -d '{"message":"Why is the sky blue?","callback_url":"${receiverUrl}"}'
  curl -s ${base}/v1/jobs/JOB_ID -H 'authorization: Bearer ${key}'

The chat box on a web page (a publishable key allowed from ${demoOrigin} only):

  ${demoOrigin}/      ← open it in a browser

  ${demoTag}
`);

async function waitForHealth() {
  for (let i = 0; i < 600; i++) {
    try {
      if ((await fetch(`${base}/health`)).ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`thinking-edge did not come up on ${base}`);
}

/** Prints every callback it gets, after verifying its Standard Webhooks signature. */
function startReceiver(secret: string) {
  const webhook = new Webhook(secret);
  serve({
    port: RECEIVER_PORT,
    hostname: '127.0.0.1',
    async fetch(request) {
      const body = await request.text();
      try {
        const job = webhook.verify(body, Object.fromEntries(request.headers)) as {
          job_id: string;
          status: string;
        };
        console.log(`[receiver] verified callback for ${job.job_id} (${job.status}): ${body}`);
        return new Response(null, { status: 204 });
      } catch (err) {
        console.log(`[receiver] refused a callback that did not verify: ${String(err)}`);
        return new Response('bad signature', { status: 400 });
      }
    },
  });
}

/** Serves the demo page and returns its script tag; the key is allowed from that page only. */
async function startEmbedDemo(): Promise<string> {
  const res = await fetch(`${base}/admin/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      name: `embed demo ${new Date().toISOString()}`,
      kind: 'publishable',
      allowed_origins: [demoOrigin],
    }),
  });
  if (res.status !== 201)
    throw new Error(`could not mint the demo's publishable key: ${res.status} ${await res.text()}`);
  const { key } = (await res.json()) as { key: string };
  const tag = { src: `${base}/embed.js`, key, title: 'Ask thinking-edge' };
  const page = hostPage(tag, {
    title: 'thinking-edge chat box demo',
    intro: `This page is served by npm run dev on ${demoOrigin}; the chat box comes from ${base}/embed.js${realKey ? '' : ' and its answers from the simulator'}.`,
  });
  serve({
    port: DEMO_PORT,
    hostname: '127.0.0.1',
    fetch: () => new Response(page, { headers: { 'content-type': 'text/html; charset=utf-8' } }),
  });
  return embedTag(tag);
}

async function mintDevKey(): Promise<{ key: string; webhook_secret: string }> {
  const res = await fetch(`${base}/admin/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: `dev ${new Date().toISOString()}`, kind: 'secret' }),
  });
  if (res.status !== 201)
    throw new Error(`could not mint a development key: ${res.status} ${await res.text()}`);
  return (await res.json()) as { key: string; webhook_secret: string };
}
