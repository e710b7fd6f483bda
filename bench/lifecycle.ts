/**
 * The run's temporary directory and the end of the run: every child is stopped whatever
 * happens — success, failure, a signal or the deadline.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { type DevServer, killAllGroups, type SimServer, sleep } from './servers';

export interface Lifecycle {
  /** The run's own directory: bundles, wrangler's output and debug logs, persisted state. */
  tmp: string;
  /** Servers to stop at the end. */
  adopt(server: DevServer): void;
  adoptSimulator(sim: SimServer): void;
  /** Keep the logs in `tmp` (when some request failed). */
  keepLogs(): void;
  /** Stops every child (once), removes `tmp` unless it failed or logs are kept, and exits. */
  end(code: number): Promise<never>;
}

/** Creates the run's directory and stops everything on SIGINT / SIGTERM or after `deadlineMs`. */
export function startLifecycle(deadlineMs: number): Lifecycle {
  const tmp = mkdtempSync(join(os.tmpdir(), 'thinking-edge-bench-'));
  const servers: DevServer[] = [];
  let sim: SimServer | undefined;
  let stopping = false;
  let keep = false;

  const end = async (code: number): Promise<never> => {
    clearTimeout(deadline);
    if (!stopping) {
      stopping = true;
      await Promise.all(servers.map((s) => s.stop().catch(() => {})));
      killAllGroups();
      await Promise.race([sim?.close(), sleep(2000)]);
      if (code === 0 && !keep) rmSync(tmp, { recursive: true, force: true });
      else console.error(`logs kept in ${tmp}`);
    }
    process.exit(code);
  };

  process.on('exit', killAllGroups);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => void end(130));
  }
  const deadline = setTimeout(() => {
    console.error(`bench: the ${deadlineMs / 60_000}-minute deadline passed; stopping`);
    void end(1);
  }, deadlineMs);

  return {
    tmp,
    adopt: (server) => void servers.push(server),
    adoptSimulator: (s) => {
      sim = s;
    },
    keepLogs: () => {
      keep = true;
    },
    end,
  };
}
