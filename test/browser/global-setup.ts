/**
 * What the browser tests run against, started once for all their files: the Messages API
 * simulator (in this process) and thinking-edge under a real `wrangler dev`, on loopback
 * ports of their own (8811–8815), with fresh local storage each run.
 */
import { serve } from '@hono/node-server';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { TestProject } from 'vitest/node';
import { killAllGroups, startEdgeDev } from '../../bench/servers';
import { createSimulator } from '../../simulator';
import { ADMIN_TOKEN, EDGE_PORT, SIMULATOR_PORT } from './ports';

declare module 'vitest' {
  interface ProvidedContext {
    /** The edge's base URL, e.g. http://127.0.0.1:8811. */
    edge: string;
  }
}

export default async function setup(project: TestProject) {
  const root = resolve(import.meta.dirname, '../..');
  const tmp = mkdtempSync(join(tmpdir(), 'thinking-edge-browser-'));
  const upstreamKey = 'browser-upstream';
  const simulator = createSimulator({ apiKey: upstreamKey, recordRequests: false });
  const simServer = serve({ fetch: simulator.fetch, port: SIMULATOR_PORT, hostname: '127.0.0.1' });
  try {
    const edge = await startEdgeDev({
      config: join(root, 'wrangler.toml'),
      tmp,
      port: EDGE_PORT,
      inspectorPort: 9242,
      upstreamUrl: `http://127.0.0.1:${SIMULATOR_PORT}`,
      upstreamKey,
      adminToken: ADMIN_TOKEN,
      // Every page here comes from 127.0.0.1: the per-IP window of publishable keys would
      // refuse the tests long before they are done. The per-key limits stay in force.
      vars: ['PUBLISHABLE_IP_REQUESTS_PER_MINUTE:100000'],
      timeoutMs: 120_000,
    });
    project.provide('edge', edge.url);
    return async () => {
      await edge.stop();
      simServer.close();
      killAllGroups();
      rmSync(tmp, { recursive: true, force: true });
    };
  } catch (err) {
    simServer.close();
    killAllGroups();
    throw err;
  }
}
