import { MongoClient } from 'mongodb';
import {
  CLAIM_MODES,
  LeaseQueue,
  type TransactionStore,
  TransactionStatus,
  transactionWebhookSchema,
  type ClaimedTransaction,
} from '@txhook/transactions';
import { createLogger } from '@txhook/platform';
import { abortableDelay, ExternalCallError } from '../src/external-call';
import { RetryPolicy } from '../src/retry-policy';
import { TransactionWorker, type ExternalCall } from '../src/transaction-worker';
import { openTestDatabase, sampleWebhook, type TestDatabase, waitFor } from '@txhook/test-kit';

const logger = createLogger('worker-test', { LOG_LEVEL: 'error', LOG_FORMAT: 'json', NODE_ENV: 'test' });

let database: TestDatabase;
let repository: TransactionStore;
/** The queue of the claim mode under test (set per mode below). */
let queue: LeaseQueue;
const workers: TransactionWorker[] = [];

beforeAll(async () => {
  database = await openTestDatabase('worker');
  repository = database.repository;
});
afterEach(async () => {
  await Promise.all(workers.splice(0).map((worker) => worker.stop(0)));
  await repository.collection.deleteMany({});
});
afterAll(async () => {
  await database.drop();
});

async function seed(n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const { record } = await repository.recordWebhook(transactionWebhookSchema.parse(sampleWebhook()));
    ids.push(record.transaction_id);
  }
  return ids;
}

/** The real simulated call, wrapped to count calls and measure how many overlap. */
function instrumentedCall(delayMs: number) {
  const calls = new Map<string, number>();
  let current = 0;
  let peak = 0;
  const call: ExternalCall = async (record, signal) => {
    calls.set(record.transaction_id, (calls.get(record.transaction_id) ?? 0) + 1);
    current += 1;
    peak = Math.max(peak, current);
    try {
      await abortableDelay(delayMs, signal);
    } finally {
      current -= 1;
    }
  };
  return { call, calls, peak: () => peak };
}

function startWorker(
  call: ExternalCall,
  options: Partial<ConstructorParameters<typeof TransactionWorker>[3]> = {},
  workQueue = queue,
) {
  const worker = new TransactionWorker(workQueue, call, logger, {
    workerId: `test-worker-${workers.length}`,
    leaseMs: 5_000,
    concurrency: 100,
    pollIntervalMs: 50,
    claimBatchSize: 20,
    retryPolicy: new RetryPolicy({ maxAttempts: 3, baseDelayMs: 50, maxDelayMs: 200 }),
    ...options,
  });
  workers.push(worker);
  worker.start();
  return worker;
}

const allProcessed = (n: number) => async () =>
  (await repository.collection.countDocuments({ status: TransactionStatus.PROCESSED })) === n
    ? true
    : undefined;

describe.each(CLAIM_MODES)('TransactionWorker, claim mode %s', (claimMode) => {
  beforeAll(() => {
    queue = new LeaseQueue(database.db, undefined, { claimMode });
  });

  it('processes every due record once and marks it PROCESSED', async () => {
    const ids = await seed(50);
    const external = instrumentedCall(200);
    startWorker(external.call);
    await waitFor('all PROCESSED', allProcessed(50), 15_000);
    for (const id of ids) expect(external.calls.get(id)).toBe(1);
    const records = await repository.collection.find().toArray();
    for (const record of records) {
      expect(record).toMatchObject({ calls: 1, claims: 1, attempts: 0 });
      expect(record.processed_at).toBeInstanceOf(Date);
      expect(record.processed_at!.getTime() - record.created_at.getTime()).toBeGreaterThanOrEqual(200);
      expect(record.lease_token).toBeNull();
    }
  });

  it('runs external calls concurrently, never more than its concurrency', async () => {
    await seed(30);
    const external = instrumentedCall(600);
    const started = Date.now();
    startWorker(external.call, { concurrency: 10 });
    await waitFor('all PROCESSED', allProcessed(30), 15_000);
    expect(external.peak()).toBe(10);
    // Three waves of 600 ms; one at a time would need 18 s.
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('keeps a long call leased with heartbeats so a second worker never takes it', async () => {
    const [id] = await seed(1);
    const first = instrumentedCall(3_000);
    const second = instrumentedCall(10);
    startWorker(first.call, { leaseMs: 1_000 });
    await waitFor('claimed', () => (first.calls.size === 1 ? true : undefined), 5_000);
    startWorker(second.call, { leaseMs: 1_000 });
    await waitFor('PROCESSED', allProcessed(1), 10_000);
    expect(second.calls.size).toBe(0);
    expect(await repository.findByTransactionId(id!)).toMatchObject({ calls: 1, claims: 1, attempts: 0 });
  });

  it('does not overwrite a record whose lease another worker took over (fencing)', async () => {
    const [id] = await seed(1);
    let releaseCall: (() => void) | undefined;
    const stalled: ExternalCall = () => new Promise<void>((resolve) => (releaseCall = resolve));
    startWorker(stalled, { leaseMs: 60_000 });
    // Wait for the call itself, not only the claim: until the call starts, the worker's own
    // start-of-call write renews the lease and would win against the takeover below.
    await waitFor('call started', () => releaseCall !== undefined || undefined, 5_000);
    const held = (await repository.findByTransactionId(id!))!;
    // The lease runs out (as after a long stall) and another worker claims the record. The stalled
    // worker polls too and may claim it back first (then it adopts that lease): expire it again.
    let takeover: ClaimedTransaction | undefined;
    for (let attempt = 0; takeover === undefined && attempt < 20; attempt++) {
      await repository.collection.updateOne({ transaction_id: id! }, { $set: { due_at: new Date(0) } });
      [takeover] = (await queue.claim('other-worker', 60_000, 1)).claimed;
    }
    expect(takeover?.lease_owner).toBe('other-worker');
    expect(takeover?.lease_token).not.toBe(held.lease_token);

    releaseCall!(); // the stalled worker now finishes its call and tries to write
    await new Promise((resolve) => setTimeout(resolve, 500));
    const after = await repository.findByTransactionId(id!);
    expect(after?.status).toBe(TransactionStatus.PROCESSING);
    expect(after?.lease_owner).toBe('other-worker');
    expect(after?.lease_token).toBe(takeover?.lease_token);
  });

  it('on stop, lets calls finish within the grace period and releases the rest', async () => {
    await seed(2);
    // The first record claimed finishes within the grace period, the second cannot.
    const delays = [200, 30_000];
    let claimed = 0;
    const call: ExternalCall = (_record, signal) => abortableDelay(delays[claimed++] ?? 30_000, signal);
    const worker = startWorker(call);
    await waitFor('both claimed', () => (claimed === 2 ? true : undefined), 5_000);
    workers.pop();
    const summary = await worker.stop(1_000);
    expect(summary).toEqual({ finished: 1, released: 1 });
    const released = await repository.collection.findOne({ status: TransactionStatus.PROCESSING });
    expect(released?.lease_token).toBeNull();
    expect(released?.due_at.getTime()).toBeLessThanOrEqual(Date.now());
    // A stopped worker claims nothing more.
    await seed(1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await repository.collection.countDocuments({ lease_token: { $ne: null } })).toBe(0);
  });

  it('survives a database it cannot reach: backs off, keeps running, stops cleanly', async () => {
    const unreachable = new MongoClient('mongodb://127.0.0.1:1', { serverSelectionTimeoutMS: 200 });
    const external = instrumentedCall(10);
    const worker = startWorker(
      external.call,
      {},
      new LeaseQueue(unreachable.db('none'), undefined, { claimMode }),
    );
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(external.calls.size).toBe(0);
    workers.pop();
    await expect(worker.stop(0)).resolves.toEqual({ finished: 0, released: 0 });
    await unreachable.close();
  });

  it('retries a failed call after a backoff and finishes it, keeping the error it saw', async () => {
    const [id] = await seed(1);
    const attemptsSeen: number[] = [];
    const failOnce: ExternalCall = async (record) => {
      attemptsSeen.push(record.attempts);
      if (record.attempts === 0) throw new ExternalCallError('upstream said 502');
      await abortableDelay(10, new AbortController().signal);
    };
    startWorker(failOnce, {
      retryPolicy: new RetryPolicy({ maxAttempts: 3, baseDelayMs: 400, maxDelayMs: 400 }),
    });
    const retrying = await waitFor(
      'retry scheduled',
      async () => {
        const doc = await repository.findByTransactionId(id!);
        return doc?.last_error ? doc : undefined;
      },
      5_000,
      10,
    );
    expect(retrying.status).toBe(TransactionStatus.PROCESSING);
    expect(retrying.lease_token).toBeNull();
    expect(retrying.last_error).toBe('upstream said 502');
    // Equal jitter: at least half the 400 ms backoff from the failure.
    expect(retrying.due_at.getTime() - Date.now()).toBeGreaterThan(100);

    await waitFor('PROCESSED', allProcessed(1), 5_000);
    const done = await repository.findByTransactionId(id!);
    expect(done).toMatchObject({ calls: 2, claims: 2, attempts: 1, last_error: 'upstream said 502' });
    // The call sees how many earlier calls failed.
    expect(attemptsSeen).toEqual([0, 1]);
  });

  it('marks a record FAILED after its last allowed attempt, with the error, and calls no more', async () => {
    const [id] = await seed(1);
    let calls = 0;
    const alwaysFails: ExternalCall = () => {
      calls += 1;
      return Promise.reject(new ExternalCallError('card network down'));
    };
    startWorker(alwaysFails, {
      retryPolicy: new RetryPolicy({ maxAttempts: 3, baseDelayMs: 20, maxDelayMs: 40 }),
    });
    const failed = await waitFor(
      'FAILED',
      async () => {
        const doc = await repository.findByTransactionId(id!);
        return doc?.status === TransactionStatus.FAILED ? doc : undefined;
      },
      5_000,
    );
    expect(failed).toMatchObject({ attempts: 3, calls: 3, claims: 3 });
    expect(failed.last_error).toBe('card network down');
    expect(failed.failed_at).toBeInstanceOf(Date);
    expect(failed.processed_at).toBeNull();
    expect(failed.lease_token).toBeNull();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(calls).toBe(3);

    // Requeued, it gets a fresh budget and runs again.
    expect(await repository.requeueFailed(id!, 'test')).toBe(true);
    expect(await repository.requeueFailed(id!, 'test')).toBe(false);
    await waitFor(
      'FAILED again',
      async () =>
        (await repository.findByTransactionId(id!))?.status === 'FAILED' && calls === 6 ? true : undefined,
      5_000,
    );
  });
});

describe('RetryPolicy', () => {
  it('doubles the delay per attempt up to the cap, with jitter between half and all of it', () => {
    const low = new RetryPolicy({ maxAttempts: 5, baseDelayMs: 1_000, maxDelayMs: 5_000, random: () => 0 });
    const high = new RetryPolicy({
      maxAttempts: 5,
      baseDelayMs: 1_000,
      maxDelayMs: 5_000,
      random: () => 0.999999,
    });
    expect([1, 2, 3, 4].map((n) => low.delayAfter(n))).toEqual([500, 1_000, 2_000, 2_500]);
    expect([1, 2, 3, 4].map((n) => high.delayAfter(n))).toEqual([1_000, 2_000, 4_000, 5_000]);
    expect(low.isExhausted(4)).toBe(false);
    expect(low.isExhausted(5)).toBe(true);
  });
});
