/**
 * `npx tsx scripts/profile-turns.ts [turns] [words] [delta-words]`: where thinking-edge's CPU goes during
 * streamed turns. Runs it under `wrangler dev` with the Messages API simulator in this
 * process, attaches to the runtime's V8 inspector (the Chrome DevTools protocol over the
 * `--inspector-port` WebSocket), and samples the Worker and its Durable Objects while
 * `turns` (default 30) streamed turns of `words` (default 750) words run, one at a time,
 * `delta-words` (default 2, the simulator's) words per text delta.
 * Prints the functions with the most self time, and the share per source file. Loopback
 * only; ports 8776–8778 (the simulator, the edge, its inspector proxy). The runtime's
 * inspector serves one session: when wrangler's own proxy holds it, the script says so after
 * 15 s (seen in about half the runs here); run it again.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { decodeVlq } from '../bench/bundle';
import { startEdgeWithSimulator } from '../bench/edge-dev';
import { processGroup } from '../bench/servers';

const TURNS = Number(process.argv[2] ?? 30);
const WORDS = Number(process.argv[3] ?? 750);
const DELTA_WORDS = Number(process.argv[4] ?? 2);
const answer = `[sim:words=${WORDS}] [sim:delta_words=${DELTA_WORDS}]`;
const root = resolve(import.meta.dirname, '..');
const { edge, headers, stop } = await startEdgeWithSimulator({
  port: 8776,
  simulator: { recordRequests: false },
});

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

/**
 * Where a place in the (minified) dev bundle comes from: its source map, the newest under
 * .wrangler/tmp, read once.
 */
let mapped: Array<Array<[number, string, number]>> | undefined;
function original(line: number, column: number): { source: string; line: number } | null {
  if (!mapped) {
    const dirs = readdirSync(join(root, '.wrangler/tmp'))
      .filter((d) => d.startsWith('dev-'))
      .map((d) => join(root, '.wrangler/tmp', d))
      .filter((d) => existsSync(join(d, 'index.js.map')))
      .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
    const map = JSON.parse(readFileSync(join(dirs[0]!, 'index.js.map'), 'utf8')) as {
      sources: string[];
      mappings: string;
    };
    let source = 0;
    let sourceLine = 0;
    mapped = map.mappings.split(';').map((segments) => {
      let col = 0;
      return (segments ? segments.split(',') : []).flatMap((seg) => {
        const f = decodeVlq(seg);
        col += f[0] ?? 0;
        if (f.length < 4) return [];
        source += f[1]!;
        sourceLine += f[2]!;
        const name = map.sources[source]!.replace(/^.*node_modules\//, '').replace(
          /^(\.\.\/)+/,
          '',
        );
        return [[col, name, sourceLine + 1] as [number, string, number]];
      });
    });
  }
  const row = mapped[line] ?? [];
  let best: [number, string, number] | undefined;
  for (const entry of row) if (entry[0] <= column) best = entry;
  return best ? { source: best[1], line: best[2] } : null;
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/**
 * One DevTools protocol session on the runtime's own inspector (wrangler's inspector proxy
 * takes no client but its DevTools page): the loopback ports this edge's `workerd` processes
 * listen on, probed for the one whose `/json` lists the Worker.
 */
async function inspect() {
  // The loopback ports of this edge's own workerd processes (its process group): a stray
  // runtime left by an earlier run must not be the one profiled.
  const ports = execFileSync('ss', ['-ltnpH'], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => {
      const pid = Number(/"workerd",pid=(\d+)/.exec(line)?.[1]);
      return pid > 0 && processGroup(pid) === edge.pid;
    })
    .flatMap((line) => /127\.0\.0\.1:(\d+)/.exec(line)?.[1] ?? []);
  let target: { webSocketDebuggerUrl: string; title?: string } | undefined;
  for (const port of ports) {
    try {
      const list = (await (
        await fetch(`http://127.0.0.1:${port}/json`, { signal: AbortSignal.timeout(1000) })
      ).json()) as Array<{ id: string; webSocketDebuggerUrl: string; title?: string }>;
      target = list.find((t) => t.id === 'core:user:thinking-edge');
      if (target) break;
    } catch {
      // not the inspector
    }
  }
  if (!target) {
    throw new Error(
      `no inspector target for core:user:thinking-edge (this edge's workerd ports: ${ports.join(', ') || 'none'})`,
    );
  }
  const ws = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((ok, fail) => {
    ws.onopen = ok;
    ws.onerror = fail;
  });
  let id = 0;
  const waiting = new Map<number, (result: unknown) => void>();
  ws.onmessage = (m) => {
    const msg = JSON.parse(String(m.data)) as { id?: number; result?: unknown };
    if (msg.id !== undefined) waiting.get(msg.id)?.(msg.result);
  };
  // The runtime's inspector may already serve wrangler's own proxy and then answer nobody
  // else: fail in words rather than hang (running the script again usually gets through).
  const send = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<any>((ok, fail) => {
      const n = ++id;
      const timer = setTimeout(
        () => fail(new Error(`the inspector did not answer ${method} in 15 s; run again`)),
        15_000,
      );
      waiting.set(n, (result) => {
        clearTimeout(timer);
        ok(result);
      });
      ws.send(JSON.stringify({ id: n, method, params }));
    });
  return { send, close: () => ws.close(), title: target.title };
}

async function profilerSession() {
  for (let attempt = 1; ; attempt++) {
    const session = await inspect();
    try {
      await session.send('Profiler.enable');
      return session;
    } catch (err) {
      session.close();
      if (attempt === 4) throw err;
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
}

try {
  const turn = async (message: string) => {
    const res = await fetch(`${edge.url}/v1/chat`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ message, stream: true }),
    });
    await res.text();
  };
  // Attached before the first request: wrangler's own inspector proxy may take the runtime's
  // one session once the Worker has run (a session that does not answer is tried again).
  const session = await profilerSession();
  for (let i = 0; i < 5; i++) await turn(`warm ${i} ${answer}`);
  await session.send('Profiler.setSamplingInterval', { interval: 100 });
  await session.send('Profiler.start');
  for (let i = 0; i < TURNS; i++) await turn(`profiled ${i} ${answer}`);
  const { profile } = (await session.send('Profiler.stop')) as { profile: Profile };
  session.close();

  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((nodeId, i) =>
    self.set(nodeId, (self.get(nodeId) ?? 0) + (profile.timeDeltas[i] ?? 0)),
  );
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  for (const [nodeId, us] of self) {
    const { functionName, url, lineNumber, columnNumber } = byId.get(nodeId)!.callFrame;
    if (functionName === '(idle)' || functionName === '(program)') continue;
    const at = url.endsWith('index.js') ? original(lineNumber, columnNumber) : null;
    const file = at?.source ?? (url ? url.replace(/^.*\//, '') : '(native)');
    const name = `${functionName || '(anonymous)'}  ${file}:${at?.line ?? lineNumber + 1}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + us);
    byFile.set(file, (byFile.get(file) ?? 0) + us);
  }
  const busy = [...byFunction.values()].reduce((a, b) => a + b, 0);
  console.log(
    `inspector target "${session.title}": ${TURNS} streamed turns of ${WORDS} words (${DELTA_WORDS} a delta); sampled ${(total / 1000).toFixed(0)} ms, busy ${(busy / 1000).toFixed(0)} ms (${(busy / 1000 / TURNS).toFixed(2)} ms a turn)`,
  );
  console.log('\nself time by function (top 30)');
  for (const [name, us] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, 30)) {
    console.log(
      `${((us / busy) * 100).toFixed(1).padStart(5)} %  ${(us / 1000 / TURNS).toFixed(3).padStart(7)} ms/turn  ${name}`,
    );
  }
  // A native function's time, by the JS function that called it (the top three).
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const nameOf = (nodeId: number) => {
    const { functionName, url, lineNumber, columnNumber } = byId.get(nodeId)!.callFrame;
    const at = url.endsWith('index.js') ? original(lineNumber, columnNumber) : null;
    return `${functionName || '(anonymous)'} ${at ? `${at.source}:${at.line}` : url.replace(/^.*\//, '')}`;
  };
  const callers = new Map<string, Map<string, number>>();
  for (const [nodeId, us] of self) {
    const { url, functionName } = byId.get(nodeId)!.callFrame;
    if (url || functionName.startsWith('(')) continue;
    const up = parent.get(nodeId);
    const by = callers.get(functionName) ?? new Map<string, number>();
    const caller = up !== undefined ? nameOf(up) : '(root)';
    by.set(caller, (by.get(caller) ?? 0) + us);
    callers.set(functionName, by);
  }
  console.log('\nnative functions by caller (ms/turn)');
  const nativeTotal = (by: Map<string, number>) => [...by.values()].reduce((a, b) => a + b, 0);
  for (const [fn, by] of [...callers]
    .sort((a, b) => nativeTotal(b[1]) - nativeTotal(a[1]))
    .slice(0, 8)) {
    const top = [...by].sort((a, b) => b[1] - a[1]).slice(0, 3);
    console.log(
      `${fn || '(anonymous)'}: ${top.map(([c, us]) => `${c} ${(us / 1000 / TURNS).toFixed(2)}`).join('; ')}`,
    );
  }
  console.log('\nself time by file');
  for (const [file, us] of [...byFile].sort((a, b) => b[1] - a[1]).slice(0, 12)) {
    console.log(`${((us / busy) * 100).toFixed(1).padStart(5)} %  ${file}`);
  }
} finally {
  await stop();
}
