/**
 * `npm run dev`: thinking-edge under `wrangler dev` on http://127.0.0.1:8787 with local KV.
 * Without ANTHROPIC_API_KEY it first starts the bundled Messages API simulator and points
 * the Worker at it, so everything works offline. Then it mints a development key and
 * prints curl lines that work as they are.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { serve } from '@hono/node-server';
import { createSimulator } from '../simulator';

const PORT = Number(process.env.PORT ?? 8787);
const SIMULATOR_PORT = Number(process.env.SIMULATOR_PORT ?? 8788);
const ADMIN_TOKEN = process.env.ADMIN_TOKEN ?? 'dev-admin-token';
const realKey = process.env.ANTHROPIC_API_KEY;
const base = `http://127.0.0.1:${PORT}`;

const vars: Record<string, string> = { ADMIN_TOKEN };
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
const key = await mintDevKey();
console.log(`
thinking-edge is running on ${base}${realKey ? '' : ' (answers come from the simulator)'}
Development key (shown once): ${key}
Admin token: ${ADMIN_TOKEN}

  curl -s ${base}/v1/chat -H 'authorization: Bearer ${key}' -H 'content-type: application/json' \\
    -d '{"message":"Why is the sky blue?"}'

  curl -N ${base}/v1/chat -H 'authorization: Bearer ${key}' -H 'content-type: application/json' \\
    -d '{"message":"Why is the sky blue?","stream":true}'
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

async function mintDevKey(): Promise<string> {
  const res = await fetch(`${base}/admin/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: `dev ${new Date().toISOString()}`, kind: 'secret' }),
  });
  if (res.status !== 201)
    throw new Error(`could not mint a development key: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { key: string }).key;
}
