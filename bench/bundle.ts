/**
 * The deployed bundle: `npx wrangler deploy --dry-run --outdir <dir>` (no network), gzipped
 * here with node's zlib, and attributed to packages through its source map.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

export interface BundleFigure {
  ok: boolean;
  /** Why the dry-run failed, when it did. */
  error?: string;
  /** Whether `--minify` was passed (wrangler.toml's `minify = true` minifies either way). */
  minify: boolean;
  outdir: string;
  files: string[];
  raw_kib: number;
  /** node zlib gzip, default level (6). */
  gzip_kib: number;
  /** Wrangler's own "Total Upload: … / gzip: …" line, for comparison. */
  wrangler_says?: string;
  /** Share of the generated code per package, from the source map (the run without --minify). */
  by_package?: Array<{ package: string; kib: number; share_pct: number }>;
}

const kib = (bytes: number) => Math.round((bytes / 1024) * 100) / 100;

export function dryRunBundle(
  root: string,
  outdir: string,
  minify: boolean,
  debugLogDir: string,
): BundleFigure {
  const args = [
    'wrangler',
    'deploy',
    '--dry-run',
    '--outdir',
    outdir,
    ...(minify ? ['--minify'] : []),
  ];
  const run = spawnSync('npx', args, {
    cwd: root,
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', WRANGLER_LOG_PATH: debugLogDir },
  });
  const output = `${run.stdout ?? ''}\n${run.stderr ?? ''}`;
  const base: BundleFigure = { ok: false, minify, outdir, files: [], raw_kib: NaN, gzip_kib: NaN };
  if (run.status !== 0 || !existsSync(outdir)) {
    const reason = run.error ? String(run.error) : output.trim().split('\n').slice(-8).join('\n');
    return { ...base, error: `npx ${args.join(' ')} failed (status ${run.status}): ${reason}` };
  }
  const files = readdirSync(outdir).filter((f) => /\.(m?js|wasm)$/.test(f));
  let raw = 0;
  let gz = 0;
  for (const f of files) {
    const bytes = readFileSync(join(outdir, f));
    raw += bytes.length;
    gz += gzipSync(bytes).length;
  }
  const said = /Total Upload: ([^\n]+)/.exec(output)?.[1]?.trim();
  const figure: BundleFigure = {
    ...base,
    ok: files.length > 0,
    files,
    raw_kib: kib(raw),
    gzip_kib: kib(gz),
    ...(said ? { wrangler_says: said } : {}),
  };
  if (!minify && existsSync(join(outdir, 'index.js.map'))) {
    figure.by_package = attribute(
      readFileSync(join(outdir, 'index.js'), 'utf8'),
      JSON.parse(readFileSync(join(outdir, 'index.js.map'), 'utf8')),
    );
  }
  return figure;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

export function decodeVlq(segment: string): number[] {
  const out: number[] = [];
  let value = 0;
  let shift = 0;
  for (const ch of segment) {
    const digit = B64.indexOf(ch);
    value += (digit & 31) << shift;
    if (digit & 32) {
      shift += 5;
    } else {
      out.push(value & 1 ? -(value >>> 1) : value >>> 1);
      value = 0;
      shift = 0;
    }
  }
  return out;
}

function packageOf(source: string): string {
  const at = source.lastIndexOf('node_modules/');
  if (at >= 0) {
    const parts = source.slice(at + 'node_modules/'.length).split('/');
    return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  if (/(^|\/)src\//.test(source)) return 'thinking-edge src/';
  return 'other';
}

/** Generated characters per package: each mapping segment owns the code up to the next one. */
function attribute(
  code: string,
  map: { sources: string[]; mappings: string },
): Array<{ package: string; kib: number; share_pct: number }> {
  const lines = code.split('\n');
  const totals = new Map<string, number>();
  const add = (name: string, n: number) => totals.set(name, (totals.get(name) ?? 0) + n);
  let source = 0;
  map.mappings.split(';').forEach((line, i) => {
    const length = (lines[i]?.length ?? 0) + 1;
    let col = 0;
    let owner = 'unmapped (bundler glue)';
    let from = 0;
    for (const seg of line ? line.split(',') : []) {
      const f = decodeVlq(seg);
      col += f[0] ?? 0;
      add(owner, col - from);
      from = col;
      if (f.length >= 4) {
        source += f[1]!;
        owner = packageOf(map.sources[source] ?? '');
      } else {
        owner = 'unmapped (bundler glue)';
      }
    }
    add(owner, length - from);
  });
  const all = [...totals.values()].reduce((a, b) => a + b, 0);
  return [...totals.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([name, n]) => ({
      package: name,
      kib: kib(n),
      share_pct: Math.round((n / all) * 1000) / 10,
    }));
}
