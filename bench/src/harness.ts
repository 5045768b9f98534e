/** Processes and database handles for the benchmarks (the same launchers the e2e tests use). */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  AppProcess,
  startApi as startApiProcess,
  startWorker as startWorkerProcess,
} from '../../tests/support/processes';

export type { AppProcess };

/** The benchmarks run the built JavaScript in production mode, as deployed (no ts-node in memory). */
const PRODUCTION = { NODE_ENV: 'production', LOG_FORMAT: 'json' };

export function startApi(env: Record<string, string>): ReturnType<typeof startApiProcess> {
  return startApiProcess({ ...PRODUCTION, ...env }, { compiled: true });
}

export function startWorker(env: Record<string, string>): ReturnType<typeof startWorkerProcess> {
  return startWorkerProcess({ ...PRODUCTION, ...env }, { compiled: true });
}

export { setTimeout as sleep } from 'node:timers/promises';

/** Starts the bare node:http baseline server and resolves with its base URL. */
export async function startBaseline(): Promise<{ process: AppProcess; baseUrl: string }> {
  const child = spawn(
    process.execPath,
    ['-r', 'ts-node/register/transpile-only', path.join(__dirname, 'baseline-server.ts')],
    { env: { PATH: process.env.PATH ?? '', PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const baseline = new AppProcess('baseline', child);
  const line = await baseline.waitForLog((l) => l.message === 'baseline listening', 30_000);
  return { process: baseline, baseUrl: `http://127.0.0.1:${String(line.port)}` };
}

/** Resident set size of a process in MB, from /proc (Linux). */
export function rssMb(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    return Math.round((kb / 1024) * 10) / 10;
  } catch {
    return 0;
  }
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)]!;
}
