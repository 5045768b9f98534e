/**
 * Drain: 10,000 transactions with the real 30 s call, from the first POST to the last PROCESSED,
 * for our workers and, on the same database server, for Agenda doing the same work.
 */
import { MongoClient } from 'mongodb';
import type { ClaimMode } from '@txhook/transactions';
import { randomBytes } from 'node:crypto';
import { postLoad } from './load';
import {
  countTransactions,
  cpuBetween,
  percentile,
  readStackCpu,
  rssMb,
  sleep,
  totalCpuSeconds,
  withStack,
  type CpuReading,
  type StackCpu,
} from './harness';

export interface DrainResult {
  label: string;
  transactions: number;
  finished: number;
  ingestSeconds: number;
  totalSeconds: number;
  claimsPerSecond: number;
  peakInFlight: number;
  peakWorkerRssMb: number;
  /** False: measured on a freshly started database JVM (BENCH_DRAIN_WARM=0); absent in older runs, which were. */
  databaseWarm?: boolean;
  /** CPU seconds (user + system) the workers used from the first POST to the last PROCESSED. */
  workerCpuSeconds?: number;
  /**
   * CPU seconds each process used from the first POST to the first reading (every 250 ms) after
   * the last answer: what the ingest cost the two cores. Absent in older runs.
   */
  ingestCpu?: StackCpu;
  /** [seconds since the first POST, records finished] */
  curve: [number, number][];
  note?: string;
}

const CALL_MS = 30_000;

/** Peak number of overlapping [start, end] intervals. */
function peakOverlap(intervals: [number, number][]): number {
  const events = intervals.flatMap(([start, end]): [number, number][] => [
    [start, 1],
    [end, -1],
  ]);
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let current = 0;
  let peak = 0;
  for (const [, delta] of events) {
    current += delta;
    peak = Math.max(peak, current);
  }
  return peak;
}

/**
 * Brings a freshly started database JVM to its steady state before a drain is measured: 10,000
 * webhooks through a stack of their own (another database, dropped after), with short calls so
 * that claims, call counts and completions all run. Cold, the JVM's JIT compiler took about half
 * of the database's CPU during the drain's ingest (2.7–3.3 of 5.0–6.2 core-seconds): a database
 * that has just started, not the steady state of one that has been up, which a backlog after a
 * workers' outage meets. The ingest benchmark warms its servers for the same reason.
 */
export async function warmDatabase(mongoUrl: string): Promise<void> {
  const settings = { PROCESSING_DELAY_MS: '200', CLAIM_BATCH_SIZE: '500', POLL_INTERVAL_MS: '100' };
  await withStack(mongoUrl, 'warm_up', settings, 1, async ({ baseUrl, db }) => {
    const posted = await postLoad({
      url: `${baseUrl}/v1/webhooks/transactions`,
      connections: 64,
      amount: 10_000,
    });
    const deadline = Date.now() + 30_000;
    while (
      (await countTransactions(db, { status: 'PROCESSED' })) < posted.total - posted.non2xx &&
      Date.now() < deadline
    )
      await sleep(250);
  });
}

export async function drainOurs(
  mongoUrl: string,
  workers: number,
  transactions: number,
  /** The worker's CLAIM_MODE (its default when unset) and a label for the database set-up. */
  setup: { claimMode?: ClaimMode; backend?: string; databasePid?: number; databaseWarm?: boolean } = {},
): Promise<DrainResult> {
  const settings = {
    ...(setup.claimMode ? { CLAIM_MODE: setup.claimMode } : {}),
    PROCESSING_DELAY_MS: String(CALL_MS),
    LEASE_MS: '60000',
    WORKER_CONCURRENCY: '20000',
    CLAIM_BATCH_SIZE: '500',
    POLL_INTERVAL_MS: '100',
  };
  return withStack(mongoUrl, 'drain', settings, workers, async (stack) => {
    const { baseUrl, workers: workerProcesses, collection } = stack;
    let peakRss = 0;
    const cpuAtStart = totalCpuSeconds(workerProcesses);
    const ingestCpuAtStart = readStackCpu(stack, setup.databasePid);
    const cpuReadings: { epochMs: number; reading: CpuReading }[] = [];
    const sampler = setInterval(() => {
      for (const worker of workerProcesses) peakRss = Math.max(peakRss, rssMb(worker.child.pid));
      if (cpuReadings.length < 400)
        cpuReadings.push({ epochMs: Date.now(), reading: readStackCpu(stack, setup.databasePid) });
    }, 250);
    const started = Date.now();
    const curve: [number, number][] = [];
    let finished = 0;
    const poller = setInterval(() => {
      void collection.countDocuments({ status: 'PROCESSED' }).then((n) => {
        finished = n;
        curve.push([(Date.now() - started) / 1000, n]);
      });
    }, 500);
    const ingest = await postLoad({
      url: `${baseUrl}/v1/webhooks/transactions`,
      connections: 64,
      amount: transactions,
    });
    const ingestSeconds = (ingest.lastResponseAt - started) / 1000;
    const ingestCpuAtEnd =
      cpuReadings.find((r) => r.epochMs >= ingest.lastResponseAt)?.reading ??
      readStackCpu(stack, setup.databasePid);
    const deadline = Date.now() + CALL_MS + 90_000;
    while (finished < transactions && Date.now() < deadline) await sleep(250);
    clearInterval(poller);
    clearInterval(sampler);
    const workerCpuSeconds = round(totalCpuSeconds(workerProcesses) - cpuAtStart);

    const records = await collection
      .find({ status: 'PROCESSED' }, { projection: { processed_at: 1 } })
      .toArray();
    const ends = records.map((r) => (r.processed_at as Date).getTime()).sort((a, b) => a - b);
    const starts = ends.map((end) => end - CALL_MS);
    const claimSpan = (percentile(starts, 100) - percentile(starts, 0)) / 1000;
    curve.push([(percentile(ends, 100) - started) / 1000, records.length]);
    return {
      label: [
        `ours, ${workers} worker${workers > 1 ? 's' : ''}`,
        ...(setup.claimMode ? [`claim mode ${setup.claimMode}`] : []),
        ...(setup.backend ? [setup.backend] : []),
        ...(setup.databaseWarm === false ? ['cold database'] : []),
      ].join(', '),
      transactions,
      finished: records.length,
      ingestSeconds: round(ingestSeconds),
      totalSeconds: round((percentile(ends, 100) - started) / 1000),
      claimsPerSecond: Math.round(records.length / Math.max(claimSpan, 0.001)),
      peakInFlight: peakOverlap(starts.map((start, i) => [start, ends[i]!])),
      peakWorkerRssMb: peakRss,
      ...(setup.databaseWarm !== undefined ? { databaseWarm: setup.databaseWarm } : {}),
      workerCpuSeconds,
      ingestCpu: cpuBetween(ingestCpuAtStart, ingestCpuAtEnd),
      curve,
      ...(ingest.non2xx + ingest.errors > 0 ? { note: `${ingest.non2xx + ingest.errors} failed POSTs` } : {}),
    };
  });
}

/**
 * The same workload on Agenda 6 (one job per transaction, the same 30 s wait), concurrency and
 * lock limits as high as it allows, against the same server. Bounded: reports what finished.
 */
export async function drainAgenda(
  mongoUrl: string,
  transactions: number,
  timeoutMs: number,
): Promise<DrainResult> {
  const { Agenda } = await import('agenda');
  const { MongoBackend } = await import('@agendajs/mongo-backend');
  const client = await MongoClient.connect(mongoUrl);
  const db = client.db(`bench_agenda_${randomBytes(3).toString('hex')}`);
  const agenda = new Agenda({
    backend: new MongoBackend({ mongo: db }),
    processEvery: 100,
    maxConcurrency: 20_000,
    defaultConcurrency: 20_000,
    lockLimit: 0,
    defaultLockLimit: 0,
    defaultLockLifetime: 60_000,
  });
  const callStarts: number[] = [];
  agenda.define(
    'process-transaction',
    async () => {
      callStarts.push(Date.now());
      await sleep(CALL_MS);
    },
    { concurrency: 20_000, lockLimit: 0 },
  );
  let peakRss = 0;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssMb(process.pid))), 250);
  try {
    await agenda.start();
    const jobs = db.collection('agendaJobs');
    const started = Date.now();
    const curve: [number, number][] = [];
    let finished = 0;
    const poller = setInterval(() => {
      void jobs.countDocuments({ lastFinishedAt: { $ne: null } }).then((n) => {
        finished = n;
        curve.push([(Date.now() - started) / 1000, n]);
      });
    }, 500);
    // Enqueue as fast as 64 concurrent producers go (our ingest uses 64 HTTP connections).
    let next = 0;
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (next < transactions) {
          next += 1;
          await agenda.now('process-transaction', { transaction_id: `agenda-${next}` });
        }
      }),
    );
    const ingestSeconds = (Date.now() - started) / 1000;
    const deadline = started + timeoutMs;
    while (finished < transactions && Date.now() < deadline) await sleep(250);
    clearInterval(poller);
    const done = await jobs
      .find({ lastFinishedAt: { $ne: null } }, { projection: { lastFinishedAt: 1 } })
      .toArray();
    const ends = done.map((job) => (job.lastFinishedAt as Date).getTime()).sort((a, b) => a - b);
    const sortedStarts = [...callStarts].sort((a, b) => a - b);
    const claimSpan = (percentile(sortedStarts, 100) - percentile(sortedStarts, 0)) / 1000;
    const complete = done.length === transactions;
    return {
      label: 'Agenda 6.2.6',
      transactions,
      finished: done.length,
      ingestSeconds: round(ingestSeconds),
      totalSeconds: complete ? round((percentile(ends, 100) - started) / 1000) : round(timeoutMs / 1000),
      claimsPerSecond: Math.round(callStarts.length / Math.max(claimSpan, 0.001)),
      peakInFlight: peakOverlap(sortedStarts.map((start) => [start, start + CALL_MS])),
      peakWorkerRssMb: peakRss,
      curve,
      ...(complete
        ? {}
        : { note: `stopped after ${timeoutMs / 1000} s with ${done.length} of ${transactions} finished` }),
    };
  } finally {
    clearInterval(sampler);
    await agenda.stop().catch(() => undefined);
    await db.dropDatabase().catch(() => undefined);
    await client.close();
  }
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
