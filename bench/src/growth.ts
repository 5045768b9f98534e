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
  LeaseQueue,
  TransactionStore,
  TransactionStatus,
  type TransactionDocument,
} from '@txhook/transactions';
import { countTransactions, percentile, sleep, withStack } from './harness';

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

/** The worker's per-record fenced work, old query shape vs new, against the same database. */
export const SHAPE_OPERATIONS = [
  'heartbeat 100 leases',
  'finish 100 (fenced write)',
  'claim read-back 100',
  'finishLease 1 (updateOne)',
] as const;
export type ShapeOperation = (typeof SHAPE_OPERATIONS)[number];

export interface GrowthPoint {
  records: number;
  timings: Record<GrowthOperation, Timing>;
  /** Present when measured (BENCH_GROWTH_SHAPES is not 0). */
  shapes?: Record<ShapeOperation, { old: Timing; new: Timing }>;
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
  /** The records that missed call + 2 s, with their counters, and the worker's warnings: why. */
  late?: { transaction_id: string; lagSeconds: number | null; claims: number; calls: number }[];
  workerWarnings?: string[];
}

export interface GrowthResult {
  backend: string;
  points: GrowthPoint[];
  endToEnd?: EndToEnd;
}

/** A valid webhook for `id`, the same body every growth step stores or posts. */
export const webhook = (id: string) => ({
  transaction_id: id,
  source_account: 'acc-growth-1',
  destination_account: 'acc-growth-2',
  amount: '125.50',
  currency: 'USD',
});

/** Adds PROCESSED history, oldest first, in unordered batches. */
export async function fillHistory(db: Db, from: number, to: number): Promise<void> {
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
  const repository = new TransactionStore(db);
  const queue = new LeaseQueue(db);
  // The API's own bound on operator queries is 2 s; here the real cost is wanted, so a high one.
  const queries = new TransactionQueries(db, { queryTimeoutMs: 120_000 });
  // One record in flight: its lease token is what a heartbeat renews; nothing else is due.
  const inFlightId = `in-flight-${randomBytes(4).toString('hex')}`;
  await repository.recordWebhook(webhook(inFlightId));
  const [claimed] = (await queue.claim('growth-bench', 600_000, 10)).claimed;
  if (!claimed) throw new Error('growth: could not claim the in-flight record');
  let inserted = 0;
  const timings = {
    'claim poll': await time(() => queue.claim('growth-bench', 600_000, 100), reps, budget),
    heartbeat: await time(() => queue.renew('growth-bench', [claimed], 600_000), reps, budget),
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

/**
 * Driver-only: each per-record operation of the worker in the query shape it had before issue 10
 * (updateMany/find whose filter mixes $in with other fields: a full scan on mongo-java-server)
 * and in the new one (per-record updateOne on exactly the fence index's fields, reads by _id or
 * transaction_id alone), on 100 records leased with one token among `records` stored ones.
 * Neither shape changes what the records hold (the $set writes values they already have), so
 * both are timed on the same state. finishLease is one shape; its "old" is timed without the
 * fence index, dropped for that and created again.
 */
async function measureShapes(
  db: Db,
  reps: number,
  budget: number,
): Promise<Record<ShapeOperation, { old: Timing; new: Timing }>> {
  const collection = db.collection<TransactionDocument>('transactions');
  const repository = new TransactionStore(db);
  const ids: string[] = [];
  for (let i = 0; i < 100; i++) {
    const id = `shape-${randomBytes(6).toString('hex')}`;
    ids.push(id);
    await repository.recordWebhook(webhook(id));
  }
  // Lease the 100 with one token, as claimDue does (a far lease: nothing else touches them).
  const token = randomBytes(8).toString('hex');
  const owner = 'shape-bench';
  const leaseEnd = new Date(Date.now() + 3_600_000);
  await collection.updateMany(
    { transaction_id: { $in: ids } },
    { $set: { lease_owner: owner, lease_token: token, lease_expires_at: leaseEnd, due_at: leaseEnd } },
  );
  const leased = await collection
    .find({ transaction_id: { $in: ids } }, { projection: { _id: 1 } })
    .toArray();
  const objectIds = leased.map((doc) => doc._id);
  const fence = (id: string) => ({
    transaction_id: id,
    lease_token: token,
    status: TransactionStatus.PROCESSING,
  });
  const renew = { $set: { lease_expires_at: leaseEnd, due_at: leaseEnd } };
  const processing = TransactionStatus.PROCESSING;
  const side = async (old: () => Promise<unknown>, fresh: () => Promise<unknown>) => ({
    old: await time(old, reps, budget),
    new: await time(fresh, reps, budget),
  });
  const shapes = {
    'heartbeat 100 leases': await side(
      async () => {
        await collection.updateMany(
          { transaction_id: { $in: ids }, lease_token: { $in: [token] }, status: processing },
          renew,
        );
        await collection
          .find({ transaction_id: { $in: ids }, lease_owner: owner, status: processing })
          .project({ transaction_id: 1, lease_token: 1 })
          .toArray();
      },
      async () => {
        await collection.bulkWrite(
          ids.map((id) => ({ updateOne: { filter: fence(id), update: renew } })),
          { ordered: false },
        );
        const docs = await collection
          .find({ transaction_id: { $in: ids } })
          .project<TransactionDocument>({ transaction_id: 1, lease_token: 1, lease_owner: 1, status: 1 })
          .toArray();
        return docs.filter((doc) => doc.lease_owner === owner && doc.status === processing);
      },
    ),
    'finish 100 (fenced write)': await side(
      () =>
        collection.updateMany(
          { transaction_id: { $in: ids }, lease_token: token, status: processing },
          renew,
        ),
      () =>
        collection.bulkWrite(
          ids.map((id) => ({ updateOne: { filter: fence(id), update: renew } })),
          { ordered: false },
        ),
    ),
    'claim read-back 100': await side(
      () => collection.find({ lease_token: token }).toArray(),
      async () =>
        (await collection.find({ _id: { $in: objectIds } }).toArray()).filter(
          (doc) => doc.lease_token === token,
        ),
    ),
    'finishLease 1 (updateOne)': { old: emptyTiming(), new: emptyTiming() },
  } satisfies Record<ShapeOperation, { old: Timing; new: Timing }>;
  const one = () => collection.updateOne(fence(ids[0]!), renew);
  shapes['finishLease 1 (updateOne)'].new = await time(one, reps, budget);
  await collection.dropIndex('transaction_id_lease_token_status');
  shapes['finishLease 1 (updateOne)'].old = await time(one, reps, budget);
  await repository.ensureIndexes();
  return shapes;
}

function emptyTiming(): Timing {
  return { median: NaN, max: NaN, samples: 0, errors: 0 };
}

/** At `records` stored: 60 webhooks, 10 per second, to the real API with one worker (1 s call). */
async function endToEnd(mongoUrl: string, dbName: string, records: number): Promise<EndToEnd> {
  const callMs = 1_000;
  const settings = { MONGODB_DB: dbName, PROCESSING_DELAY_MS: String(callMs) };
  return withStack(mongoUrl, 'growth', settings, 1, async ({ baseUrl, collection, db, workers }) => {
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
    const processed = () =>
      countTransactions(db, { transaction_id: { $in: accepted }, status: TransactionStatus.PROCESSED });
    while ((await processed()) < accepted.length && Date.now() < deadline) await sleep(1_000);
    const outcomes = await collection
      .find({ transaction_id: { $in: accepted } })
      .project<{
        transaction_id: string;
        created_at: Date;
        processed_at: Date | null;
        claims: number;
        calls: number;
      }>({ transaction_id: 1, created_at: 1, processed_at: 1, claims: 1, calls: 1 })
      .toArray();
    const lagOf = (d: (typeof outcomes)[number]) =>
      d.processed_at ? (d.processed_at.getTime() - d.created_at.getTime()) / 1000 : null;
    const done = outcomes.filter((d) => d.processed_at);
    const lags = done.map((d) => lagOf(d)!);
    const late = outcomes
      .filter((d) => (lagOf(d) ?? Infinity) > callMs / 1000 + 2)
      .map((d) => ({
        transaction_id: d.transaction_id,
        lagSeconds: lagOf(d),
        claims: d.claims,
        calls: d.calls,
      }));
    const workerWarnings = [
      ...new Set(
        workers.flatMap((worker) =>
          worker.logs.filter((line) => line.level !== 'info').map((line) => String(line.message)),
        ),
      ),
    ];
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
      ...(late.length ? { late, workerWarnings } : {}),
    };
  });
}

export async function growth(
  mongoUrl: string,
  backend: string,
  sizes: readonly number[],
  options: { reps: number; budgetMs: number; endToEnd: boolean; shapes?: boolean },
): Promise<GrowthResult> {
  const dbName = `bench_growth_${randomBytes(3).toString('hex')}`;
  const client = await MongoClient.connect(mongoUrl);
  const db = client.db(dbName);
  const points: GrowthPoint[] = [];
  let endToEndResult: EndToEnd | undefined;
  try {
    await new TransactionStore(db).ensureIndexes();
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
      if (options.shapes !== false) {
        point.shapes = await measureShapes(db, options.reps, options.budgetMs);
        for (const [operation, { old, new: fresh }] of Object.entries(point.shapes))
          console.log(
            `growth (${backend}) @ ${size} shape ${operation}: old median ${old.median} ms (max ${old.max}, n=${old.samples})` +
              ` | new median ${fresh.median} ms (max ${fresh.max}, n=${fresh.samples})`,
          );
        // The shape records are leased far ahead and PROCESSING: settle them like measure's inserts.
        await db
          .collection('transactions')
          .updateMany(
            { status: TransactionStatus.PROCESSING },
            { $set: { status: TransactionStatus.PROCESSED, processed_at: new Date() } },
          );
      }
      points.push(point);
    }
    if (options.endToEnd) {
      console.log(`growth (${backend}): end to end at ${stored} records`);
      endToEndResult = await endToEnd(mongoUrl, dbName, stored);
      if (endToEndResult.late)
        console.log(
          `growth (${backend}): late records ${JSON.stringify(endToEndResult.late)}; worker warnings ${JSON.stringify(endToEndResult.workerWarnings)}`,
        );
    }
  } finally {
    await db.dropDatabase().catch(() => undefined);
    await client.close();
  }
  return { backend, points, ...(endToEndResult ? { endToEnd: endToEndResult } : {}) };
}
