/**
 * Facts about the machine and its activity: what ran the bench, and whether anything else
 * (test runs, typechecks, other dev servers) was running to add noise.
 */
import { execSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { ROOT } from './config';
import { ourGroups, processGroup, sleep } from './servers';
import { round2 } from './stats';

export interface MachineInfo {
  cpu: string;
  cores: number;
  memory_gib: number;
  os: string;
  node: string;
  wrangler: string;
  date: string;
  load_average_at_start: number[];
  git_head: string;
  uncommitted_src_files: number;
}

export function machine(): MachineInfo {
  const git = (cmd: string) => {
    try {
      return execSync(cmd, { cwd: ROOT, encoding: 'utf8' }).trim();
    } catch {
      return 'unknown';
    }
  };
  const wrangler = JSON.parse(
    readFileSync(join(ROOT, 'node_modules/wrangler/package.json'), 'utf8'),
  ) as { version: string };
  return {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memory_gib: round2(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    wrangler: wrangler.version,
    date: new Date().toISOString(),
    load_average_at_start: os.loadavg().map(round2),
    git_head: git('git rev-parse --short HEAD'),
    uncommitted_src_files: git('git status --porcelain -- src').split('\n').filter(Boolean).length,
  };
}

/** Test runs, typechecks or dev servers on the machine that are not this run's. */
function foreignActivity(): string[] {
  const ours = new Set([processGroup(process.pid), ...ourGroups()]);
  try {
    return execSync('ps -eo pgid=,args=', { encoding: 'utf8' })
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => /vitest|\btsc\b|wrangler|workerd/.test(l))
      .filter((l) => !ours.has(Number(l.split(/\s+/)[0])));
  } catch {
    return [];
  }
}

/** Other runs on the machine would add noise: wait (at most 45 s) for them to end. */
export async function waitForQuiet(): Promise<string> {
  for (let i = 0; i < 23; i++) {
    if (foreignActivity().length === 0) {
      return i === 0 ? 'quiet' : `waited ${i * 2} s for other runs`;
    }
    if (i === 0) console.log('another test run or dev server is active; waiting up to 45 s');
    await sleep(2000);
  }
  return `other runs still active after 45 s: ${foreignActivity().length} processes`;
}

/** Other runs seen during the run: samples taken, samples with any, a few of their commands. */
export interface ActivitySeen {
  samples: number;
  busy_samples: number;
  examples: string[];
}

/** Samples `foreignActivity` every 5 s during the run, so that a noisy run says so. */
export function watchActivity(): { seen: ActivitySeen; stop(): void } {
  const seen: ActivitySeen = { samples: 0, busy_samples: 0, examples: [] };
  const timer = setInterval(() => {
    const busy = foreignActivity();
    seen.samples++;
    if (busy.length > 0) {
      seen.busy_samples++;
      for (const b of busy) {
        const cmd = b.replace(/^\d+\s+/, '').slice(0, 120);
        if (seen.examples.length < 5 && !seen.examples.includes(cmd)) seen.examples.push(cmd);
      }
    }
  }, 5000);
  return { seen, stop: () => clearInterval(timer) };
}
