/**
 * thinking-edge under `wrangler dev` (from src/, fresh state) with the Messages API simulator
 * served in this process, so that a script sees what the edge sent upstream and when its
 * streams ended; a key minted with limits no script reaches. For the measurement scripts
 * (scripts/cancel-latency.ts, long-conversation.ts, profile-turns.ts). Loopback only.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { serve } from '@hono/node-server';
import { createSimulator, type Simulator, type SimulatorOptions } from '../simulator';
import { type DevServer, killAllGroups, startEdgeDev } from './servers';

export interface EdgeWithSimulator {
  simulator: Simulator;
  edge: DevServer;
  /** `authorization` with the minted key, and `content-type: application/json`. */
  headers: Record<string, string>;
  stop(): Promise<void>;
}

const ADMIN = 'edge-dev-admin';
const UPSTREAM_KEY = 'edge-dev-upstream';
const root = resolve(import.meta.dirname, '..');

export async function startEdgeWithSimulator(opts: {
  /** The simulator's port; the edge's is the next, its inspector the one after. */
  port: number;
  simulator?: Omit<SimulatorOptions, 'apiKey'>;
  /** More `NAME:VALUE` vars for the edge. */
  vars?: string[];
}): Promise<EdgeWithSimulator> {
  const tmp = mkdtempSync(join(tmpdir(), 'thinking-edge-dev-'));
  const simulator = createSimulator({ ...opts.simulator, apiKey: UPSTREAM_KEY });
  const server = serve({ fetch: simulator.fetch, port: opts.port, hostname: '127.0.0.1' });
  const stopAll = async (edge?: DevServer) => {
    await edge?.stop();
    server.close();
    killAllGroups();
    rmSync(tmp, { recursive: true, force: true });
  };
  let edge: DevServer | undefined;
  try {
    edge = await startEdgeDev({
      config: join(root, 'wrangler.toml'),
      tmp,
      port: opts.port + 1,
      inspectorPort: opts.port + 2,
      upstreamUrl: `http://127.0.0.1:${opts.port}`,
      upstreamKey: UPSTREAM_KEY,
      adminToken: ADMIN,
      ...(opts.vars ? { vars: opts.vars } : {}),
    });
    const minted = await fetch(`${edge.url}/admin/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'edge-dev',
        kind: 'secret',
        limits: {
          requests_per_minute: 1_000_000,
          concurrent_streams: 1000,
          tokens_per_day: 1_000_000_000_000,
        },
      }),
    });
    if (minted.status !== 201) throw new Error(`key: ${minted.status} ${await minted.text()}`);
    const { key } = (await minted.json()) as { key: string };
    const started = edge;
    return {
      simulator,
      edge: started,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      stop: () => stopAll(started),
    };
  } catch (err) {
    await stopAll(edge);
    throw err;
  }
}
