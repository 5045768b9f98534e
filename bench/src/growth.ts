/**
 * Growth: what each database operation of the service costs as PROCESSED history accumulates
 * (0 / 100k / 500k … stored records), measured through the official driver with the service's own
 * repository code and indexes; at the largest size also end to end (API + one worker).
 */
import { randomBytes } from 'node:crypto';
import { MongoClient, type Db } from 'mongodb';
import {
  newTransactionDocument,
  TransactionQueries,
  TransactionRepository,
  TransactionStatus,
  type TransactionDocument,
} from '@txhook/shared';
import { percentile, sleep, withStack } from './harness';

export const GROWTH_OPERATIONS = [
  'claim poll',
  'heartbeat',
  'GET by id',
  'insert',
  'list 50',
  'stats',
] as const;
export type GrowthOperation = (typeof GROWTH_OPERATIONS)[number];

export interface Timing {
  median: number;
  max: number;
  samples: number;
  errors: number;
}

export interface GrowthPoint {
  records: number;
  timings: Record<GrowthOperation, Timing>;
}

export interface EndToEnd {
  records: number;
  posted: number;
  accepted: number;
  refused503: number;
  ackP99Ms: number;
  ackMaxMs: number;
  callMs: number;
  /** processed_at − created_at of the accepted ones; null for those not PROCESSED in time. */
  processedWithinCallPlus2s: number;
  lagMaxSeconds: number | null;
}

export interface GrowthResult {
  backend: string;
  points: GrowthPoint[];
  endToEnd?: EndToEnd;
}

const webhook = (id: string) => ({
  transaction_id: id,
  source_account: 'acc-growth-1',
  destination_account: 'acc-growth-2',
  amount: '125.50',
  currency: 'USD',
});

/** Adds PROCESSED history, oldest first, in unordered batches. */
async function fillHistory(db: Db, from: number, to: number): Promise<void> {
  const collection = db.collection<TransactionDocument>('transactions');
  const start = Date.now() - 86_400_000;
  for (let n = from; n < to; n += 5_000) {
    const batch: TransactionDocument[] = [];
    for (let i = n; i < Math.min(to, n + 5_000); i++) {
      const created = new Date(start + i);
      batch.push({
        ...newTransactionDocument(webhook(`history-${i}`), created),
        status: TransactionStatus.PROCESSED,
        processed_at: new Date(created.getTime() + 30_000),
        attempts: 1,
        finished_lease_token: `history-lease-${Math.floor(i / 500)}`,
      });
    }
    await collection.insertMany(batch, { ordered: false });
  }
}

/** Repeats `op` `reps` times (or until `budgetMs` is used up) and summarises its latency. */
async function time(op: () => Promise<unknown>, reps: number, budgetMs: number): Promise<Timing> {
  const samples: number[] = [];
  let errors = 0;
  const until = Date.now() + budgetMs;
  for (let i = 0; i < reps && (i === 0 || Date.now() < until); i++) {
    const started = performance.now();
    try {
      await op();
      samples.push(performance.now() - started);
    } catch {
      errors += 1;
    }
  }
  samples.sort((a, b) => a - b);
  const round = (v: number) => Math.round(v * 10) / 10;
  return {
    median: round(percentile(samples, 50)),
    max: round(samples[samples.length - 1] ?? NaN),
    samples: samples.length,
    errors,
  };
}

async function measure(db: Db, records: number, reps: number, budget: number): Promise<GrowthPoint> {
  const repository = new TransactionRepository(db);
  // The API's own bound on operator queries is 2 s; here the real cost is wanted, so a high one.
  const queries = new TransactionQueries(db, { queryTimeoutMs: 120_000 });
  // One record in flight: its lease token is what a heartbeat renews; nothing else is due.
  const inFlightId = `in-flight-${randomBytes(4).toString('hex')}`;
  await repository.recordWebhook(webhook(inFlightId));
  const [claimed] = await repository.claimBatch('growth-bench', 600_000, 10);
  if (!claimed) throw new Error('growth: could not claim the in-flight record');
  let inserted = 0;
  const timings = {
    'claim poll': await time(() => repository.claimBatch('growth-bench', 600_000, 100), reps, budget),
    heartbeat: await time(() => repository.renewLeases('growth-bench', [claimed], 600_000), reps, budget),
    'GET by id': await time(
      () => repository.findByTransactionId(`history-${Math.floor(Math.random() * Math.max(1, records))}`),
      reps,
      budget,
    ),
    insert: await time(
      () => repository.recordWebhook(webhook(`growth-new-${records}-${inserted++}`)),
      reps,
      budget,
    ),
    'list 50': await time(() => queries.listPage({ limit: 50 }), reps, budget),
    stats: await time(() => queries.stats(), reps, budget),
  } satisfies Record<GrowthOperation, Timing>;
  // The fresh inserts are due: finish them so the next size starts with nothing due again.
  await db
    .collection('transactions')
    .updateMany(
      { status: TransactionStatus.PROCESSING },
      { $set: { status: TransactionStatus.PROCESSED, processed_at: new Date() } },
    );
  return { records, timings };
}

/** At `records` stored: 60 webhooks, 10 per second, to the real API with one worker (1 s call). */
async function endToEnd(mongoUrl: string, dbName: string, records: number): Promise<EndToEnd> {
  const callMs = 1_000;
  const settings = { MONGODB_DB: dbName, PROCESSING_DELAY_MS: String(callMs) };
  return withStack(mongoUrl, 'growth', settings, 1, async ({ baseUrl, collection }) => {
    const acks: { id: string; status: number; ms: number }[] = [];
    const pending: Promise<void>[] = [];
    for (let i = 0; i < 60; i++) {
      const id = `growth-e2e-${randomBytes(4).toString('hex')}-${i}`;
      const started = performance.now();
      pending.push(
        fetch(`${baseUrl}/v1/webhooks/transactions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(webhook(id)),
          signal: AbortSignal.timeout(30_000),
        })
          .then((res) => void acks.push({ id, status: res.status, ms: performance.now() - started }))
          .catch(() => void acks.push({ id, status: 0, ms: performance.now() - started })),
      );
      await sleep(100);
    }
    await Promise.all(pending);
    const accepted = acks.filter((a) => a.status === 202).map((a) => a.id);
    const deadline = Date.now() + 60_000;
    while (
      (await collection.countDocuments({ transaction_id: { $in: accepted }, status: 'PROCESSED' })) <
        accepted.length &&
      Date.now() < deadline
    )
      await sleep(1_000);
    const done = await collection
      .find({ transaction_id: { $in: accepted }, status: 'PROCESSED' })
      .project<{ created_at: Date; processed_at: Date }>({ created_at: 1, processed_at: 1 })
      .toArray();
    const lags = done.map((d) => (d.processed_at.getTime() - d.created_at.getTime()) / 1000);
    const ackMs = acks.map((a) => a.ms).sort((a, b) => a - b);
    return {
      records,
      posted: acks.length,
      accepted: accepted.length,
      refused503: acks.filter((a) => a.status === 503).length,
      ackP99Ms: Math.round(percentile(ackMs, 99)),
      ackMaxMs: Math.round(ackMs[ackMs.length - 1] ?? NaN),
      callMs,
      processedWithinCallPlus2s: lags.filter((lag) => lag <= callMs / 1000 + 2).length,
      lagMaxSeconds: lags.length ? Math.round(Math.max(...lags) * 10) / 10 : null,
    };
  });
}

export async function growth(
  mongoUrl: string,
  backend: string,
  sizes: readonly number[],
  options: { reps: number; budgetMs: number; endToEnd: boolean },
): Promise<GrowthResult> {
  const dbName = `bench_growth_${randomBytes(3).toString('hex')}`;
  const client = await MongoClient.connect(mongoUrl);
  const db = client.db(dbName);
  const points: GrowthPoint[] = [];
  let endToEndResult: EndToEnd | undefined;
  try {
    await new TransactionRepository(db).ensureIndexes();
    let stored = 0;
    for (const size of [...sizes].sort((a, b) => a - b)) {
      const fillStarted = Date.now();
      await fillHistory(db, stored, size);
      stored = Math.max(stored, size);
      console.log(
        `growth (${backend}): ${size} records stored (${(Date.now() - fillStarted) / 1000} s to fill)`,
      );
      const point = await measure(db, size, options.reps, options.budgetMs);
      console.log(`growth (${backend}) @ ${size}: ${JSON.stringify(point.timings)}`);
      points.push(point);
    }
    if (options.endToEnd) {
      console.log(`growth (${backend}): end to end at ${stored} records`);
      endToEndResult = await endToEnd(mongoUrl, dbName, stored);
    }
  } finally {
    await db.dropDatabase().catch(() => undefined);
    await client.close();
  }
  return { backend, points, ...(endToEndResult ? { endToEnd: endToEndResult } : {}) };
}
