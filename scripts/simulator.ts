// Serves the Messages API simulator on Node: `tsx scripts/simulator.ts`.
// Env: SIMULATOR_PORT (default 8788), SIMULATOR_API_KEY (require this key), SIMULATOR_SECRET
// (HMAC secret; keep it fixed to verify blocks across restarts), SIMULATOR_PING_INTERVAL_MS.

import { serve } from '@hono/node-server';
import { createSimulator } from '../simulator/index';

declare const process: { env: Record<string, string | undefined> };

const env = process.env;
const port = Number(env.SIMULATOR_PORT ?? 8788);
const simulator = createSimulator({
  apiKey: env.SIMULATOR_API_KEY || undefined,
  secret: env.SIMULATOR_SECRET || undefined,
  pingIntervalMs: env.SIMULATOR_PING_INTERVAL_MS
    ? Number(env.SIMULATOR_PING_INTERVAL_MS)
    : undefined,
  recordRequests: false,
});

serve({ fetch: simulator.fetch, port, hostname: '127.0.0.1' }, (info) => {
  console.log(`simulator listening on http://127.0.0.1:${info.port}`);
});
