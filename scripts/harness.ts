/**
 * Starts the simulator and thinking-edge (`wrangler dev`) side by side on loopback for the
 * scripts (cache demo, load test, long answers), and stops both. `boundedRun` adds what the
 * load test and the long-answers test share: a deadline and a bound on workerd's descriptors.
 * Nothing here reaches beyond 127.0.0.1.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { serve } from '@hono/node-server';
import { createSimulator } from '../simulator';

export interface Harness {
  sim: string;
  edge: string;
  key: string;
  /** `authorization` (the minted key) and `content-type: application/json`. */
  headers: Record<string, string>;
  /** Open file descriptors of the workerd processes this harness started (Linux /proc). */
  descriptors(): number;
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
    const key = ((await res.json()) as { key: string }).key;
    return {
      sim,
      edge,
      key,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      descriptors: () => workerdDescriptors(wrangler.pid!),
      stop,
    };
  } catch (err) {
    stop();
    throw err;
  }
}

/**
 * Starts a harness, runs `body` on it within `deadlineMs` (past it: the harness is stopped
 * and the process exits with 1), then stops it. workerd's open descriptors are counted before
 * and after `body`; the exit code is 1 when `body` returns false or they grew by more than
 * `maxDescriptorGrowth` (a leak of loopback sockets grows by thousands).
 */
export async function boundedRun(
  opts: {
    name: string;
    simPort: number;
    edgePort: number;
    deadlineMs: number;
    maxDescriptorGrowth: number;
  },
  /**
   * The run; it may call `baseline()` to measure growth from that point on instead of from
   * the start (e.g. after a first round that creates the objects the later ones reuse).
   */
  body: (harness: Harness, baseline: () => void) => Promise<boolean>,
): Promise<void> {
  const harness = await startHarness(opts);
  const timer = setTimeout(() => {
    console.error(`${opts.name}: deadline of ${opts.deadlineMs} ms passed`);
    harness.stop();
    process.exit(1);
  }, opts.deadlineMs);
  try {
    let before = harness.descriptors();
    const ok = await body(harness, () => (before = harness.descriptors()));
    const after = harness.descriptors();
    const grew = after - before;
    console.log(
      `workerd descriptors: ${before} before, ${after} after (grew ${grew}, allowed ${opts.maxDescriptorGrowth})`,
    );
    if (!ok || grew > opts.maxDescriptorGrowth) process.exitCode = 1;
  } finally {
    clearTimeout(timer);
    harness.stop();
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

/**
 * Sums the open descriptors of every workerd process in wrangler's process group: a leak
 * of sockets towards wrangler's loopback proxy (wrangler 4.86 kept ~2 per upstream chunk a
 * Worker read in JS) shows here long before connections start failing.
 */
function workerdDescriptors(group: number): number {
  let total = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // Fields after the command's closing parenthesis: state, ppid, pgrp, …
      const pgrp = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
      if (pgrp !== group) continue;
      if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('workerd')) continue;
      total += readdirSync(`/proc/${pid}/fd`).length;
    } catch {
      // the process ended while we looked
    }
  }
  return total;
}
