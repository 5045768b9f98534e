/**
 * Mixed load: ingest at 64 connections while real worker processes drain what is being posted,
 * against the API alone in the same run (same database server, same duration, one after another).
 */
import { randomBytes } from 'node:crypto';
import { MongoClient, type Db } from 'mongodb';
import { TransactionStatus, TransactionStore } from '@txhook/transactions';
import { postLoad, type LoadResult } from './load';
import { countTransactions, cpuBetween, readStackCpu, withStack, type StackCpu } from './harness';
import { fillHistory } from './growth';
import { jvmPausesBetween, type PauseSummary } from './jvm-pauses';

export interface MixedRow {
  /** e.g. "API alone", "API + 1 worker" */
  scenario: string;
  workers: number;
  callMs: number;
  load: LoadResult;
  /** CPU seconds each process used during the measured load (the warm-up excluded). */
  cpu?: StackCpu;
  /** Records PROCESSED when the load stopped (posted during the warm-up and the load). */
  processed?: number;
  /**
   * The API's own count (its ack-time histogram, GET /metrics) of webhooks answered in more than
   * 500 ms during the measured load, from the request reaching its routes to the answer being
   * sent. Below the client's count when the rest of the time passed before the routes started on
   * the request (waiting in its socket while the API worked through others) or in the load
   * generator sharing the cores. Absent in older runs.
   */
  apiOver500ms?: number;
  /** The database JVM's stops (safepoints, allocation stalls) during the measured load; absent in older runs. */
  databasePauses?: PauseSummary;
}

export interface MixedOptions {
  durationSeconds: number;
  callMs: number;
  workerCounts: readonly number[];
  /** The database server's process, for its CPU time. */
  databasePid?: number;
  /** Extra environment for the API and workers (e.g. NODE_OPTIONS=--cpu-prof for a profile). */
  env?: Record<string, string>;
  /** PROCESSED history stored before every scenario (issue 10: the goal must hold at 500,000). */
  storedRecords?: number;
  /** The database JVM's safepoint log (jvmPauseLogArgs), for its stops during each measured load. */
  databasePauseLog?: string;
}

async function scenario(
  mongoUrl: string,
  workers: number,
  options: MixedOptions,
  history: StoredHistory | undefined,
): Promise<Pick<MixedRow, 'load' | 'cpu' | 'processed' | 'apiOver500ms' | 'databasePauses'>> {
  const settings = {
    PROCESSING_DELAY_MS: String(options.callMs),
    ...(history ? { MONGODB_DB: history.db.databaseName } : {}),
    ...options.env,
  };
  return withStack(mongoUrl, 'mixed', settings, workers, async (stack) => {
    const url = `${stack.baseUrl}/v1/webhooks/transactions`;
    const started = new Date();
    // Warm-up (JIT, pools): short, so the workers have little backlog when the measurement starts.
    await postLoad({ url, connections: 64, durationSeconds: 2 });
    const acksBefore = await apiAckCounts(stack.baseUrl);
    const before = readStackCpu(stack, options.databasePid);
    const loadStartedMs = Date.now();
    const load = await postLoad({ url, connections: 64, durationSeconds: options.durationSeconds });
    const loadEndedMs = Date.now();
    const after = readStackCpu(stack, options.databasePid);
    const acksAfter = await apiAckCounts(stack.baseUrl);
    const cpu = cpuBetween(before, after);
    const processed = await countTransactions(stack.db, {
      status: TransactionStatus.PROCESSED,
      created_at: { $gte: started },
    });
    const databasePauses = options.databasePauseLog
      ? jvmPausesBetween(options.databasePauseLog, loadStartedMs, loadEndedMs)
      : undefined;
    return {
      load,
      cpu,
      processed,
      apiOver500ms: answersOver500ms(acksBefore, acksAfter),
      ...(databasePauses ? { databasePauses } : {}),
    };
  });
}

type AckCounts = { total: number; within500ms: number };

/** Webhooks the API answered in more than 500 ms between two readings of apiAckCounts. */
export function answersOver500ms(before: AckCounts, after: AckCounts): number {
  return after.total - before.total - (after.within500ms - before.within500ms);
}

/**
 * Webhooks the API has answered, in all and within 500 ms, summed over outcomes, from its
 * ack-time histogram (`txhook_webhook_ack_duration_seconds`, which has a 0.5 s bucket).
 */
export async function apiAckCounts(baseUrl: string): Promise<AckCounts> {
  const response = await fetch(`${baseUrl}/metrics`);
  if (!response.ok) throw new Error(`GET /metrics answered ${response.status}`);
  const counts: AckCounts = { total: 0, within500ms: 0 };
  for (const line of (await response.text()).split('\n')) {
    const sample = /^txhook_webhook_ack_duration_seconds_(bucket|count)\{([^}]*)\} (\S+)$/.exec(line);
    if (!sample) continue;
    const value = Number(sample[3]);
    if (sample[1] === 'count') counts.total += value;
    else if (/(^|,)le="0\.5"/.test(sample[2]!)) counts.within500ms += value;
  }
  return counts;
}

/**
 * A database holding PROCESSED history, filled once and shared by the scenarios of one run: each
 * scenario's own records are deleted after it (they are newer than the history), so every
 * scenario starts with the same history and an empty queue.
 */
class StoredHistory {
  private constructor(
    private readonly client: MongoClient,
    readonly db: Db,
  ) {}

  static async fill(mongoUrl: string, records: number): Promise<StoredHistory> {
    const client = await MongoClient.connect(mongoUrl);
    const db = client.db(`bench_mixed_history_${randomBytes(3).toString('hex')}`);
    const started = Date.now();
    await new TransactionStore(db).ensureIndexes();
    await fillHistory(db, 0, records);
    console.log(`mixed: ${records} PROCESSED records stored (${(Date.now() - started) / 1000} s to fill)`);
    return new StoredHistory(client, db);
  }

  /** Deletes what a scenario posted: everything created after the history (created up to a day ago). */
  async reset(): Promise<void> {
    await this.db
      .collection('transactions')
      .deleteMany({ created_at: { $gte: new Date(Date.now() - 3_600_000) } });
  }

  async drop(): Promise<void> {
    await this.db.dropDatabase().catch(() => undefined);
    await this.client.close();
  }
}

/** API alone first, then with each worker count; every row is compared with that first row. */
export async function mixedLoad(mongoUrl: string, options: MixedOptions): Promise<MixedRow[]> {
  const history = options.storedRecords
    ? await StoredHistory.fill(mongoUrl, options.storedRecords)
    : undefined;
  const rows: MixedRow[] = [];
  try {
    for (const workers of [0, ...options.workerCounts]) {
      const name = workers === 0 ? 'API alone' : `API + ${workers} worker${workers > 1 ? 's' : ''}`;
      console.log(`mixed: ${name}, ${options.callMs / 1000} s calls, ${options.durationSeconds} s`);
      rows.push({
        scenario: name,
        workers,
        callMs: options.callMs,
        ...(await scenario(mongoUrl, workers, options, history)),
      });
      await history?.reset();
    }
  } finally {
    await history?.drop();
  }
  return rows;
}

/**
 * Acknowledged webhooks per second: a non-2xx answer (a 503 the sender must retry, say) or a
 * socket error is not an acknowledgement, whatever autocannon counts as a request.
 */
export function acknowledgedPerSecond(load: LoadResult): number {
  if (load.total === 0) return 0;
  return (load.requestsPerSecond * (load.total - load.non2xx - load.errors)) / load.total;
}

/** The goal for one row against the API-alone row of the same run. */
export function mixedVerdict(row: MixedRow, alone: MixedRow) {
  // Every request without a timely acknowledgement misses the contract: slow or non-2xx answers
  // (results from before missedAcks was recorded: over 500 ms and non-2xx), timeouts, socket errors.
  const missed = row.load.missedAcks ?? row.load.over500ms + row.load.non2xx;
  const slow = missed + row.load.timeouts + row.load.errors;
  const throughput = acknowledgedPerSecond(row.load) / acknowledgedPerSecond(alone.load);
  const p99Ratio = row.load.p99 / alone.load.p99;
  return {
    slow,
    throughput,
    p99Ratio,
    met: slow === 0 && p99Ratio <= 2 && throughput >= 0.8,
  };
}
