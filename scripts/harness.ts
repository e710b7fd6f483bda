/**
 * Starts the simulator and thinking-edge (`wrangler dev`) side by side on loopback for the
 * measurement scripts, and stops both. Nothing here reaches beyond 127.0.0.1.
 */
import { spawn } from 'node:child_process';
import { serve } from '@hono/node-server';
import { createSimulator } from '../simulator';

export interface Harness {
  sim: string;
  edge: string;
  key: string;
  stop(): void;
}

export async function startHarness(opts: { simPort: number; edgePort: number }): Promise<Harness> {
  const admin = 'harness-admin';
  const sim = `http://127.0.0.1:${opts.simPort}`;
  const edge = `http://127.0.0.1:${opts.edgePort}`;
  const simulator = createSimulator({ apiKey: 'harness-key', recordRequests: false });
  const server = serve({ fetch: simulator.fetch, port: opts.simPort, hostname: '127.0.0.1' });
  const wrangler = spawn(
    'npx',
    [
      'wrangler',
      'dev',
      '--ip',
      '127.0.0.1',
      '--port',
      String(opts.edgePort),
      '--var',
      `ANTHROPIC_BASE_URL:${sim}`,
      '--var',
      'ANTHROPIC_API_KEY:harness-key',
      '--var',
      `ADMIN_TOKEN:${admin}`,
    ],
    { stdio: 'ignore', env: { ...process.env, WRANGLER_SEND_METRICS: 'false' }, detached: true },
  );
  const stop = () => {
    server.close();
    try {
      process.kill(-wrangler.pid!, 'SIGTERM');
    } catch {
      // already gone
    }
  };
  try {
    await waitFor(`${edge}/health`);
    const res = await fetch(`${edge}/admin/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'harness',
        kind: 'secret',
        limits: {
          requests_per_minute: 1_000_000,
          concurrent_streams: 1000,
          tokens_per_day: 1_000_000_000_000,
        },
      }),
    });
    if (res.status !== 201) throw new Error(`key: ${res.status} ${await res.text()}`);
    return { sim, edge, key: ((await res.json()) as { key: string }).key, stop };
  } catch (err) {
    stop();
    throw err;
  }
}

async function waitFor(url: string) {
  for (let i = 0; i < 240; i++) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // starting
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} did not come up`);
}

export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}
