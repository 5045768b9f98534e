/** Processes and database handles for the benchmarks (the same launchers the e2e tests use). */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { MongoClient, type Collection, type Document } from 'mongodb';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  AppProcess,
  startApi as startApiProcess,
  startWorker as startWorkerProcess,
} from '../../tests/support/processes';

export type { AppProcess };

/**
 * The benchmarks run the built JavaScript in production mode, as deployed (no ts-node in memory).
 * They post unsigned webhooks and read nothing protected, so they opt out of the fail-closed
 * start-up explicitly; the cost of signatures and keys is measured apart (docs/SECURITY.md).
 */
const PRODUCTION = { NODE_ENV: 'production', LOG_FORMAT: 'json', ALLOW_INSECURE: 'true' };

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

export interface Stack {
  baseUrl: string;
  workers: AppProcess[];
  collection: Collection<Document>;
}

/**
 * Runs `task` against a fresh database with one API and `workers` worker processes (built, in
 * production mode), then stops them and drops the database, whatever happens.
 */
export async function withStack<T>(
  mongoUrl: string,
  label: string,
  settings: Record<string, string>,
  workers: number,
  task: (stack: Stack) => Promise<T>,
): Promise<T> {
  const env = {
    MONGODB_URL: mongoUrl,
    MONGODB_DB: `bench_${label}_${randomBytes(3).toString('hex')}`,
    ...settings,
  };
  const processes: AppProcess[] = [];
  const client = await MongoClient.connect(mongoUrl);
  try {
    const { api, baseUrl } = await startApi(env);
    processes.push(api);
    const workerProcesses = await Promise.all(Array.from({ length: workers }, () => startWorker(env)));
    processes.push(...workerProcesses);
    return await task({
      baseUrl,
      workers: workerProcesses,
      collection: client.db(env.MONGODB_DB).collection('transactions'),
    });
  } finally {
    await Promise.all(processes.map((p) => p.stop(20_000)));
    await client
      .db(env.MONGODB_DB)
      .dropDatabase()
      .catch(() => undefined);
    await client.close();
  }
}
