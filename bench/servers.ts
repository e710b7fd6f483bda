/**
 * The processes `npm run bench` and bench/ab.ts measure, all on 127.0.0.1: the Messages API
 * simulator (in this Node process, with timing taps on the same clock as the client), and
 * Workers under `npx wrangler dev`, each in its own process group so that stopping one ends
 * its workerd too.
 */
import { execSync, spawn } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import { createSimulator } from '../simulator';

/** When the simulator saw a tagged request, sent its first byte and its first text delta. */
export interface Tap {
  arrive: number;
  firstByte: number;
  firstText: number;
}

export interface SimServer {
  url: string;
  /** By the `bench#<tag>` found in the request's last user text; `performance.now()` times. */
  taps: Map<string, Tap>;
  /** The raw body and `anthropic-beta` header of every request tagged `bench#template…`. */
  templates: Map<string, { body: string; beta: string | null }>;
  close(): Promise<void>;
}

const TAG = /bench#([A-Za-z0-9_-]+)/g;

/**
 * The simulator as a Node server. Requests whose body carries `bench#<tag>` get a tap: the
 * arrival time, and (for a stream) when its first body chunk and first `text_delta` left.
 */
export function startSimulator(port: number, apiKey: string): SimServer {
  const simulator = createSimulator({ apiKey, recordRequests: false });
  const taps = new Map<string, Tap>();
  const templates = new Map<string, { body: string; beta: string | null }>();
  const tapped = async (req: Request): Promise<Response> => {
    const arrive = performance.now();
    if (req.method !== 'POST') return simulator.fetch(req);
    const text = await req.clone().text();
    const tag = [...text.matchAll(TAG)].at(-1)?.[1];
    if (tag?.startsWith('template'))
      templates.set(tag, { body: text, beta: req.headers.get('anthropic-beta') });
    const res = await simulator.fetch(req);
    if (!tag) return res;
    const tap: Tap = { arrive, firstByte: NaN, firstText: NaN };
    taps.set(tag, tap);
    if (!res.body || !(res.headers.get('content-type') ?? '').includes('event-stream')) return res;
    let tail = '';
    const decoder = new TextDecoder();
    const body = res.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          const now = performance.now();
          if (Number.isNaN(tap.firstByte)) tap.firstByte = now;
          if (Number.isNaN(tap.firstText)) {
            const window = tail + decoder.decode(chunk, { stream: true });
            if (window.includes('"text_delta"')) tap.firstText = now;
            tail = window.slice(-32);
          }
          controller.enqueue(chunk);
        },
      }),
    );
    return new Response(body, { status: res.status, headers: res.headers });
  };
  const server = serve({ fetch: tapped, port, hostname: '127.0.0.1' });
  return {
    url: `http://127.0.0.1:${port}`,
    taps,
    templates,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The `--var`s that point a thinking-edge `wrangler dev` at the simulator. */
export function edgeVars(simUrl: string, upstreamKey: string, adminToken: string): string[] {
  return [
    '--var',
    `ANTHROPIC_BASE_URL:${simUrl}`,
    '--var',
    `ANTHROPIC_API_KEY:${upstreamKey}`,
    '--var',
    `ADMIN_TOKEN:${adminToken}`,
  ];
}

export interface DevServer {
  name: string;
  url: string;
  /** The spawned `npx` (leader of its own process group). */
  pid: number;
  logFile: string;
  /** The `workerd` processes under this `wrangler dev`. */
  workerdPids(): number[];
  /**
   * The same, by role: `proxy` listens on the dev port and runs wrangler's ProxyWorker;
   * `runtime` (on an ephemeral port) runs the Worker itself, with local KV and Durable Objects.
   */
  workerdRoles(): { proxy: number[]; runtime: number[] };
  /** Every process under this `wrangler dev` (npx, node, esbuild, workerd). */
  treePids(): number[];
  stop(): Promise<void>;
}

const groups = new Set<number>();

/** Process groups of the `wrangler dev` children started here (each its own group). */
export function ourGroups(): number[] {
  return [...groups];
}

/** The process group of a process, from /proc. */
export function processGroup(pid: number): number | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(raw.slice(raw.lastIndexOf(')') + 2).split(' ')[2]);
  } catch {
    return undefined;
  }
}

/** Last resort: SIGKILL every process group still running (on exit, on a signal). */
export function killAllGroups(): void {
  for (const pgid of groups) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  groups.clear();
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * thinking-edge under `wrangler dev` from `config` (a wrangler.toml), calling the upstream at
 * `upstreamUrl`, with fresh state, its log and wrangler's debug log under `tmp` (by `name`).
 * `vars`: more `NAME:VALUE` vars.
 */
export function startEdgeDev(opts: {
  name?: string;
  config: string;
  tmp: string;
  port: number;
  inspectorPort: number;
  upstreamUrl: string;
  upstreamKey: string;
  adminToken: string;
  vars?: string[];
  timeoutMs?: number;
}): Promise<DevServer> {
  const name = opts.name ?? 'edge';
  return startWrangler({
    name,
    args: [
      '-c',
      opts.config,
      '--persist-to',
      join(opts.tmp, `${name}-state`),
      '--inspector-port',
      String(opts.inspectorPort),
      ...edgeVars(opts.upstreamUrl, opts.upstreamKey, opts.adminToken),
      ...(opts.vars ?? []).flatMap((v) => ['--var', v]),
    ],
    port: opts.port,
    logFile: join(opts.tmp, `${name}.log`),
    readyPath: '/health',
    debugLogDir: join(opts.tmp, 'wrangler-logs'),
    timeoutMs: opts.timeoutMs ?? 90_000,
  });
}

/**
 * `npx wrangler dev <args> --ip 127.0.0.1 --port <port>` in its own process group, output to
 * `logFile`. Resolves once `readyPath` answers (any HTTP status), within `timeoutMs`.
 * Wrangler's debug log (every DevTools Network event of the Worker: tens of MB per run) goes
 * to `debugLogDir` instead of ~/.config/.wrangler/logs.
 */
export async function startWrangler(opts: {
  name: string;
  args: string[];
  port: number;
  logFile: string;
  readyPath: string;
  debugLogDir: string;
  timeoutMs?: number;
}): Promise<DevServer> {
  const url = `http://127.0.0.1:${opts.port}`;
  const fd = openSync(opts.logFile, 'w');
  const child = spawn(
    'npx',
    ['wrangler', 'dev', ...opts.args, '--ip', '127.0.0.1', '--port', String(opts.port)],
    {
      stdio: ['ignore', fd, fd],
      detached: true,
      env: {
        ...process.env,
        WRANGLER_SEND_METRICS: 'false',
        WRANGLER_LOG_PATH: opts.debugLogDir,
      },
    },
  );
  closeSync(fd);
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${opts.name}: could not spawn npx wrangler dev`);
  groups.add(pid);
  let exited: number | null | undefined;
  child.on('exit', (code) => {
    exited = code;
  });
  const stop = async () => {
    if (!groups.has(pid)) return;
    try {
      process.kill(-pid, 'SIGTERM');
    } catch {
      // already gone
    }
    for (let i = 0; i < 50 && groupAlive(pid); i++) await sleep(100);
    if (groupAlive(pid)) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    groups.delete(pid);
  };
  const server: DevServer = {
    name: opts.name,
    url,
    pid,
    logFile: opts.logFile,
    workerdPids: () => descendants(pid).filter((p) => processName(p) === 'workerd'),
    workerdRoles: () => {
      const all = descendants(pid).filter((p) => processName(p) === 'workerd');
      const listensOnDevPort = (p: number) =>
        commandLine(p).includes(`=127.0.0.1:${opts.port}\0`) ||
        commandLine(p).includes(`=127.0.0.1:${opts.port} `);
      return {
        proxy: all.filter(listensOnDevPort),
        runtime: all.filter((p) => !listensOnDevPort(p)),
      };
    },
    treePids: () => [pid, ...descendants(pid)],
    stop,
  };
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  while (Date.now() < deadline) {
    if (exited !== undefined) break;
    try {
      await (await fetch(url + opts.readyPath, { signal: AbortSignal.timeout(2000) })).text();
      return server;
    } catch {
      await sleep(250);
    }
  }
  await stop();
  const log = readFileSync(opts.logFile, 'utf8').split('\n').slice(-15).join('\n');
  throw new Error(
    `${opts.name}: wrangler dev did not come up on ${url}` +
      (exited !== undefined ? ` (exited with ${exited})` : '') +
      `\n${log}`,
  );
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// ---- /proc: the process tree and CPU counters (Linux) ----

interface ProcStat {
  pid: number;
  comm: string;
  ppid: number;
  /** utime + stime, in clock ticks. */
  ticks: number;
}

function readStat(pid: number): ProcStat | null {
  let raw: string;
  try {
    raw = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // "pid (comm) state ppid …": comm may hold spaces and parentheses, so split at the last ')'.
  const open = raw.indexOf('(');
  const close = raw.lastIndexOf(')');
  const rest = raw.slice(close + 2).split(' ');
  // rest[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
  return {
    pid,
    comm: raw.slice(open + 1, close),
    ppid: Number(rest[1]),
    ticks: Number(rest[11]) + Number(rest[12]),
  };
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}

function processName(pid: number): string | undefined {
  return readStat(pid)?.comm;
}

/** Every live descendant of `root`, found through /proc/<pid>/stat parent links. */
export function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (!stat) continue;
    const list = children.get(stat.ppid) ?? [];
    list.push(stat.pid);
    children.set(stat.ppid, list);
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      out.push(child);
      queue.push(child);
    }
  }
  return out;
}

let clockTicks: number | undefined;

function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execSync('getconf CLK_TCK', { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** user + system CPU time of these processes so far, in ms (resolution: one clock tick). */
export function cpuMs(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) ticks += readStat(pid)?.ticks ?? 0;
  return (ticks * 1000) / ticksPerSecond();
}

export function cpuTickMs(): number {
  return 1000 / ticksPerSecond();
}
