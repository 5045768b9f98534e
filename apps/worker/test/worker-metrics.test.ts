import { Registry } from 'prom-client';
import { createLogger } from '@txhook/platform';
import { LeaseQueue, TransactionStatus, transactionWebhookSchema } from '@txhook/transactions';
import { abortableDelay, ExternalCallError } from '../src/external-call';
import { createWorkerMetrics, isReclaim } from '../src/metrics';
import { startMetricsServer } from '../src/metrics-server';
import { RetryPolicy } from '../src/retry-policy';
import { TransactionWorker, type ExternalCall } from '../src/transaction-worker';
import {
  openTestDatabase,
  parseMetrics,
  sample,
  sampleWebhook,
  scrape,
  type TestDatabase,
  waitFor,
} from '@txhook/test-kit';

const logger = createLogger('worker-test', { LOG_LEVEL: 'error', LOG_FORMAT: 'json', NODE_ENV: 'test' });

let database: TestDatabase;
let queue: LeaseQueue;
beforeAll(async () => {
  database = await openTestDatabase('worker_metrics');
  queue = new LeaseQueue(database.db);
});
afterAll(async () => {
  await database.drop();
});

async function seed(ids: string[]): Promise<void> {
  for (const id of ids) {
    await database.repository.recordWebhook(
      transactionWebhookSchema.parse(sampleWebhook({ transaction_id: id })),
    );
  }
}

describe('isReclaim', () => {
  it('is a claim after an earlier lease that ended without an outcome', () => {
    expect(isReclaim({ unsettled_claims: 1 })).toBe(false);
    expect(isReclaim({ unsettled_claims: 2 })).toBe(true);
  });
});

describe('worker metrics', () => {
  it('count claims, outcomes, retries, reclaims and lag, and show calls in flight, over HTTP', async () => {
    const registry = new Registry();
    // A record whose lease expired under a dead worker: claimed once, no outcome, due again.
    await seed(['orphan']);
    expect((await queue.claim('dead-worker', 60_000, 1)).claimed[0]?.transaction_id).toBe('orphan');
    await database.repository.collection.updateOne(
      { transaction_id: 'orphan' },
      { $set: { due_at: new Date(0) } },
    );
    // ok-1 is held until released; ok-*: succeed after 300 ms; flaky fails once; doomed always fails.
    await seed(['ok-1', 'ok-2', 'ok-3', 'flaky', 'doomed']);

    const failures = new Map<string, number>();
    let releaseSlow: () => void = () => undefined;
    const slowStarted = new Promise<void>((resolve) => {
      releaseSlow = resolve;
    });
    let slowDone: () => void = () => undefined;
    const call: ExternalCall = async (record, signal) => {
      if (
        record.transaction_id === 'doomed' ||
        (record.transaction_id === 'flaky' && !failures.has('flaky'))
      ) {
        failures.set(record.transaction_id, (failures.get(record.transaction_id) ?? 0) + 1);
        throw new ExternalCallError('simulated failure');
      }
      if (record.transaction_id === 'ok-1') {
        releaseSlow();
        await new Promise<void>((resolve) => (slowDone = resolve));
      }
      // Every successful call takes at least 300 ms: no lag can land in the 0.1 s bucket.
      await abortableDelay(300, signal);
    };
    const worker: TransactionWorker = new TransactionWorker(queue, call, logger, {
      workerId: 'metrics-test',
      leaseMs: 5_000,
      concurrency: 10,
      pollIntervalMs: 50,
      claimBatchSize: 10,
      retryPolicy: new RetryPolicy({ maxAttempts: 2, baseDelayMs: 50, maxDelayMs: 100 }),
      observer: createWorkerMetrics(registry, { inFlight: () => worker.inFlightCount }),
    });
    const server = await startMetricsServer(registry, 0, '127.0.0.1');
    const url = `http://127.0.0.1:${server.port}/metrics`;
    worker.start();
    try {
      await slowStarted;
      // ok-1 is held open: the gauge must show it in flight.
      const during = await scrape(url);
      expect(sample(during, 'txhook_worker_in_flight')).toBeGreaterThanOrEqual(1);
      slowDone();

      const settled = async () =>
        (await database.repository.collection.countDocuments({
          status: { $in: [TransactionStatus.PROCESSED, TransactionStatus.FAILED] },
        })) === 6
          ? true
          : undefined;
      await waitFor('all settled', settled, 15_000);
      const after = parseMetrics(await (await fetch(url)).text());
      // 6 first claims + flaky's and doomed's second attempts.
      expect(sample(after, 'txhook_worker_claims_total')).toBe(8);
      expect(sample(after, 'txhook_worker_reclaims_total')).toBe(1); // the orphan
      expect(sample(after, 'txhook_worker_processed_total')).toBe(5);
      expect(sample(after, 'txhook_worker_retries_total')).toBe(2);
      expect(sample(after, 'txhook_worker_failed_total')).toBe(1);
      expect(sample(after, 'txhook_worker_leases_lost_total')).toBe(0);
      for (const name of [
        'txhook_worker_call_timeouts_total',
        'txhook_worker_poisoned_total',
        'txhook_worker_own_lease_reclaims_total',
        'txhook_worker_released_total',
      ]) {
        expect(sample(after, name)).toBe(0);
      }
      expect(sample(after, 'txhook_worker_processing_lag_seconds_count')).toBe(5);
      expect(sample(after, 'txhook_worker_processing_lag_seconds_bucket', { le: '0.1' })).toBe(0);
      expect(sample(after, 'txhook_worker_in_flight')).toBe(0);
      expect(sample(after, 'process_resident_memory_bytes')).toBeGreaterThan(0);
      expect((await fetch(`http://127.0.0.1:${server.port}/other`)).status).toBe(404);
    } finally {
      slowDone();
      await worker.stop(0);
      server.server.closeAllConnections();
      await new Promise((resolve) => server.server.close(resolve));
    }
  });
});
