/**
 * Starts the bench's servers side by side: the simulator (in this process), the bare Worker,
 * thinking-edge and its counting twin (each under `npx wrangler dev`), and mints a key on
 * both thinking-edge instances, plus EXTRA_KEYS more on thinking-edge for the phases across
 * many keys.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ADMIN, EXTRA_KEYS, INSPECTOR_PORTS, PORTS, ROOT, UPSTREAM_KEY } from './config';
import { range } from './interleave';
import type { Lifecycle } from './lifecycle';
import { jsonPost, pool } from './measure';
import { type DevServer, edgeVars, startSimulator, startWrangler } from './servers';
import type { Endpoints } from './turns';

/**
 * `fromBundle`: thinking-edge runs the dry-run bundle in `edgeDir` (`index.js`) with
 * `--no-bundle`; otherwise `wrangler dev` builds it from src/. Every server is handed to
 * `life`, so that it is stopped at the end even if another failed to start.
 */
export async function startServers(
  life: Lifecycle,
  opts: { fromBundle: boolean; edgeDir: string; debugLogDir: string },
): Promise<Endpoints> {
  const { tmp } = life;
  const sim = startSimulator(PORTS.sim, UPSTREAM_KEY);
  life.adoptSimulator(sim);
  const vars = edgeVars(sim.url, UPSTREAM_KEY, ADMIN);
  const config = ['-c', join(ROOT, 'wrangler.toml')];
  const countingFile = join(opts.fromBundle ? opts.edgeDir : tmp, 'counting-entry.js');
  writeFileSync(
    countingFile,
    countingEntry(opts.fromBundle ? './index.js' : join(ROOT, 'src/index.ts')),
  );
  const started = await Promise.allSettled([
    startWrangler({
      name: 'bare',
      args: [
        '-c',
        join(ROOT, 'bench/bare/wrangler.toml'),
        '--var',
        `UPSTREAM_URL:${sim.url}`,
        '--inspector-port',
        String(INSPECTOR_PORTS.bare),
      ],
      port: PORTS.bare,
      logFile: join(tmp, 'bare.log'),
      readyPath: '/',
      debugLogDir: opts.debugLogDir,
      timeoutMs: 90_000,
    }),
    startWrangler({
      name: 'thinking-edge',
      args: [
        ...(opts.fromBundle ? [join(opts.edgeDir, 'index.js'), '--no-bundle'] : []),
        ...config,
        '--persist-to',
        join(tmp, 'edge-state'),
        '--inspector-port',
        String(INSPECTOR_PORTS.edge),
        ...vars,
      ],
      port: PORTS.edge,
      logFile: join(tmp, 'edge.log'),
      readyPath: '/health',
      debugLogDir: opts.debugLogDir,
      timeoutMs: 90_000,
    }),
    startWrangler({
      name: 'thinking-edge (counting)',
      args: [
        countingFile,
        ...config,
        '--persist-to',
        join(tmp, 'counting-state'),
        '--inspector-port',
        String(INSPECTOR_PORTS.counting),
        ...vars,
      ],
      port: PORTS.counting,
      logFile: join(tmp, 'counting.log'),
      readyPath: '/health',
      debugLogDir: opts.debugLogDir,
      timeoutMs: 90_000,
    }),
  ]);
  const servers = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  for (const server of servers) life.adopt(server);
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  const [bare, edge, counting] = servers as [DevServer, DevServer, DevServer];
  return {
    sim,
    bare,
    edge,
    counting,
    edgeKey: await mintKey(edge.url, 'bench'),
    edgeKeys: await pool(range(EXTRA_KEYS), 10, (i) => mintKey(edge.url, `bench-${i + 1}`)),
    countingKey: await mintKey(counting.url, 'bench'),
  };
}

/**
 * The counting instance's entry: thinking-edge's module unchanged, its fetch handler and each
 * Durable Object class (the `class_name`s of wrangler.toml) on counted bindings.
 */
function countingEntry(edgeModule: string): string {
  const toml = readFileSync(join(ROOT, 'wrangler.toml'), 'utf8');
  const classes = [
    ...new Set([...toml.matchAll(/class_name\s*=\s*"([A-Za-z_$][\w$]*)"/g)].map((m) => m[1]!)),
  ];
  const lib = JSON.stringify(join(ROOT, 'bench/counting/counting.js'));
  return [
    `import * as edge from ${JSON.stringify(edgeModule)};`,
    `import { countedClass, countingHandler } from ${lib};`,
    `export * from ${JSON.stringify(edgeModule)};`,
    'export default countingHandler(edge.default);',
    ...classes.map((c) => `export const ${c} = countedClass(edge.${c});`),
    '',
  ].join('\n');
}

/** A secret key with limits no bench phase can reach. */
async function mintKey(url: string, name: string): Promise<string> {
  const { json } = await jsonPost<{ key: string }>(
    `${url}/admin/keys`,
    { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    {
      name,
      kind: 'secret',
      limits: {
        requests_per_minute: 1_000_000,
        concurrent_streams: 1000,
        tokens_per_day: 1_000_000_000_000,
      },
    },
  );
  return json.key;
}
