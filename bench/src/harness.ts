/** Processes and database handles for the benchmarks (the launcher the tests and scripts use). */
import { randomBytes } from 'node:crypto';
import { MongoClient, type Collection, type Db, type Document } from 'mongodb';
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  launch,
  started,
  startApi as startApiProcess,
  startApp,
  type AppProcess,
} from '@txhook/test-kit/launcher';

export type { AppProcess };

/**
 * The benchmarks run the built JavaScript in production mode, as deployed (no ts-node in memory).
 * They post unsigned webhooks and read nothing protected, so they opt out of the fail-closed
 * start-up explicitly; the cost of signatures and keys is measured apart (docs/SECURITY.md).
 */
const PRODUCTION = { NODE_ENV: 'production', LOG_FORMAT: 'json', ALLOW_INSECURE: 'true' };

/**
 * BENCH_NODE_PROF_DIR: the API and workers write V8 CPU profiles there when they exit.
 * BENCH_NODE_ARGS: more node flags for them (space-separated), after the apps' own, so a repeated
 * flag overrides theirs (an A/B of the worker's young-generation cap).
 */
function nodeArgs(): string[] {
  const dir = process.env.BENCH_NODE_PROF_DIR;
  const extra = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  return [...(dir ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(dir)}`] : []), ...extra];
}

export function startApi(env: Record<string, string>): ReturnType<typeof startApiProcess> {
  return startApiProcess({ ...PRODUCTION, ...env }, { compiled: true, nodeArgs: nodeArgs() });
}

/** Starts a worker and returns at once (the autoscaler starts many and does not wait). */
export function launchWorker(env: Record<string, string>): AppProcess {
  return startApp('worker', { ...PRODUCTION, ...env }, { compiled: true, nodeArgs: nodeArgs() });
}

export async function startWorker(env: Record<string, string>): Promise<AppProcess> {
  const worker = launchWorker(env);
  await started(worker, 'worker started');
  return worker;
}

export { setTimeout as sleep } from 'node:timers/promises';

/** The servers an ingest is set against: the bare node:http ceiling and the Express floor. */
const BASELINES = {
  'node:http': { entry: 'baseline-server.ts', ready: 'baseline listening' },
  express: { entry: 'express-floor-server.ts', ready: 'express floor listening' },
} as const;

/** Starts a baseline server (node:http by default) and resolves with its base URL. */
export async function startBaseline(
  kind: keyof typeof BASELINES = 'node:http',
): Promise<{ process: AppProcess; baseUrl: string }> {
  const { entry, ready } = BASELINES[kind];
  const baseline = launch({
    name: kind === 'node:http' ? 'baseline' : 'express-floor',
    entry: path.join(__dirname, entry),
    env: { PATH: process.env.PATH ?? '', PORT: '0' },
  });
  const line = await started(baseline, ready, 30_000);
  return { process: baseline, baseUrl: `http://127.0.0.1:${String(line.port)}` };
}

/** The 1-, 5- and 15-minute load averages, for a script's first line. */
export function loadAverage(): string {
  return os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
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

/**
 * CPU seconds (user + system) a process has used so far, from /proc (Linux; clock ticks of
 * 1/100 s, the kernel's USER_HZ on every architecture Node runs on here). 0 once it is gone.
 */
export function cpuSeconds(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    return statCpuSeconds(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return 0;
  }
}

/** utime + stime of a /proc `stat` line (a process's or one thread's), in seconds. */
function statCpuSeconds(stat: string): number {
  // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** CPU seconds the given processes (the workers of a stack) have used so far, together. */
export function totalCpuSeconds(processes: readonly AppProcess[]): number {
  return processes.reduce((sum, app) => sum + cpuSeconds(app.child.pid), 0);
}

/** CPU seconds all processes of the machine have used so far (busy time of every core, /proc/stat). */
export function machineBusySeconds(): number {
  try {
    const [user, nice, system, , , irq, softirq, steal] = readFileSync('/proc/stat', 'utf8')
      .split('\n')[0]!
      .trim()
      .split(/\s+/)
      .slice(1)
      .map(Number);
    return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) / 100;
  } catch {
    return 0;
  }
}

/** CPU seconds each process of a stack used over a stretch of a run (a warm-up excluded). */
export interface StackCpu {
  /** This process: autocannon, and reading the API's and workers' log lines. */
  loadGenerator: number;
  api: number;
  workers: number;
  database: number;
  /**
   * Of the database's, its JIT compiler threads' (a fresh JVM compiles its hot code under the
   * first load): absent in older runs and for a database that is not a local JVM.
   */
  databaseJit?: number;
  /** Every process of the machine (other engineers' work included), for what was left to ours. */
  machine?: number;
  /** Wall-clock seconds of the stretch, for the share of the machine's cores. */
  seconds: number;
}

export type CpuReading = Omit<StackCpu, 'seconds' | 'machine' | 'databaseJit'> & {
  databaseJit: number;
  machine: number;
  at: number;
};

/** CPU seconds a JVM's JIT compiler threads ("C1/C2 CompilerThread…") have used so far; 0 if none. */
export function jitCpuSeconds(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    return readdirSync(`/proc/${pid}/task`).reduce((sum, tid) => {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      return /^C\d CompilerThre/.test(name) ? sum + statCpuSeconds(stat) : sum;
    }, 0);
  } catch {
    return 0;
  }
}

/** The CPU seconds used so far by each process of a stack; two readings make a StackCpu. */
export function readStackCpu(
  stack: Pick<Stack, 'api' | 'workers'>,
  databasePid: number | undefined,
): CpuReading {
  const own = process.cpuUsage();
  return {
    loadGenerator: (own.user + own.system) / 1e6,
    api: cpuSeconds(stack.api.child.pid),
    workers: totalCpuSeconds(stack.workers),
    database: cpuSeconds(databasePid),
    databaseJit: jitCpuSeconds(databasePid),
    machine: machineBusySeconds(),
    at: performance.now(),
  };
}

/** What each process used between two readings, to the hundredth of a second. */
export function cpuBetween(before: CpuReading, after: CpuReading): StackCpu {
  const round = (seconds: number) => Math.round(seconds * 100) / 100;
  return {
    loadGenerator: round(after.loadGenerator - before.loadGenerator),
    api: round(after.api - before.api),
    workers: round(after.workers - before.workers),
    database: round(after.database - before.database),
    ...(after.databaseJit > 0 ? { databaseJit: round(after.databaseJit - before.databaseJit) } : {}),
    machine: round(after.machine - before.machine),
    seconds: round((after.at - before.at) / 1000),
  };
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)]!;
}

export interface Stack {
  baseUrl: string;
  api: AppProcess;
  /** What the API and workers run with: more workers can be started with it. */
  env: Record<string, string>;
  workers: AppProcess[];
  db: Db;
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
    const db = client.db(env.MONGODB_DB);
    return await task({
      baseUrl,
      api,
      env,
      workers: workerProcesses,
      db,
      collection: db.collection('transactions'),
    });
  } finally {
    await Promise.all(processes.map((p) => p.stop(20_000)));
    // A database the caller named is the caller's to drop (e.g. history shared by several stacks).
    if (settings.MONGODB_DB === undefined)
      await client
        .db(env.MONGODB_DB)
        .dropDatabase()
        .catch(() => undefined);
    await client.close();
  }
}

/**
 * Stored transactions matching `query`, with the `count` command (served by an index on both
 * servers). Not countDocuments: that is an aggregation the embedded server answers by reading
 * every stored record, seconds per call with a million stored, during which the workers' writes
 * wait (a growth probe that polled with it made records late).
 */
export async function countTransactions(db: Db, query: Document): Promise<number> {
  const reply = await db.command({ count: 'transactions', query });
  return Number(reply.n);
}
