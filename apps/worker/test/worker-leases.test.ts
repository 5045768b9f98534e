/**
 * Issue 9, findings 1-3 and 5 in one process: event-loop blocks while calls are in flight, a lease
 * taken over by another worker, a call that never settles, and shutdown releases. Every test runs
 * the real worker against the real (embedded) server; only the external call is a test double.
 */
import {
  CLAIM_MODES,
  LeaseQueue,
  type TransactionStore,
  TransactionStatus,
  transactionWebhookSchema,
} from '@txhook/transactions';
import { createLogger } from '@txhook/platform';
import { abortableDelay } from '../src/external-call';
import { RetryPolicy } from '../src/retry-policy';
import { TransactionWorker, type ExternalCall } from '../src/transaction-worker';
import { Registry } from 'prom-client';
import type { CommandStartedEvent, Document } from 'mongodb';
import { createWorkerMetrics } from '../src/metrics';
import {
  openTestDatabase,
  parseMetrics,
  sample,
  sampleWebhook,
  type TestDatabase,
  waitFor,
} from '@txhook/test-kit';

const logger = createLogger('worker-test', { LOG_LEVEL: 'error', LOG_FORMAT: 'json', NODE_ENV: 'test' });

let database: TestDatabase;
let repository: TransactionStore;
/** The queue of the claim mode under test (set per mode below). */
let queue: LeaseQueue;
const workers: TransactionWorker[] = [];

beforeAll(async () => {
  database = await openTestDatabase('worker_leases');
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

/** The simulated call, counting calls per record, overlapping calls per record and settled calls. */
function countingCall(delayMs: number) {
  const calls = new Map<string, number>();
  const running = new Map<string, number>();
  let maxConcurrentPerRecord = 0;
  let settled = 0;
  const aborted: string[] = [];
  const call: ExternalCall = async (record, signal) => {
    const id = record.transaction_id;
    calls.set(id, (calls.get(id) ?? 0) + 1);
    running.set(id, (running.get(id) ?? 0) + 1);
    maxConcurrentPerRecord = Math.max(maxConcurrentPerRecord, running.get(id)!);
    try {
      await abortableDelay(delayMs, signal);
    } catch (error) {
      aborted.push(id);
      throw error;
    } finally {
      running.set(id, running.get(id)! - 1);
      settled += 1;
    }
  };
  return {
    call,
    calls,
    aborted,
    maxConcurrentPerRecord: () => maxConcurrentPerRecord,
    settled: () => settled,
  };
}

/** Blocks the event loop (a GC pause, a synchronous hot loop): no timer, no I/O callback runs. */
function blockEventLoop(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // spin
  }
}

function startWorker(
  call: ExternalCall,
  options: Partial<ConstructorParameters<typeof TransactionWorker>[3]>,
  onQueue: LeaseQueue = queue,
) {
  const worker = new TransactionWorker(onQueue, call, logger, {
    workerId: `lease-test-${workers.length}`,
    leaseMs: 1_000,
    concurrency: 100,
    pollIntervalMs: 50,
    claimBatchSize: 50,
    retryPolicy: new RetryPolicy({ maxAttempts: 3, baseDelayMs: 50, maxDelayMs: 100 }),
    ...options,
  });
  workers.push(worker);
  worker.start();
  return worker;
}

const countWith = (filter: object) => repository.collection.countDocuments(filter);

describe.each(CLAIM_MODES)('claim mode %s', (claimMode) => {
  beforeAll(() => {
    queue = new LeaseQueue(database.db, undefined, { claimMode });
  });

  describe('worker under event-loop blocks (finding 1)', () => {
    it('blocks shorter and longer than a lease during calls: each record called once, all PROCESSED', async () => {
      const ids = await seed(20);
      // Lease 1 s, each renewed once 333 ms of it have passed, calls of 6 s: three blocks outlive every lease.
      const external = countingCall(6_000);
      const worker = startWorker(external.call, { leaseMs: 1_000 });
      await waitFor('all calls started', () => (external.calls.size === 20 ? true : undefined), 10_000, 10);
      await new Promise((resolve) => setTimeout(resolve, 200));
      blockEventLoop(600); // > one heartbeat interval, < one lease
      for (let i = 0; i < 3; i++) {
        await new Promise((resolve) => setTimeout(resolve, 150));
        blockEventLoop(1_300); // > one lease: every lease has expired when the loop runs again
      }

      await waitFor(
        'all PROCESSED',
        async () => ((await countWith({ status: TransactionStatus.PROCESSED })) === 20 ? true : undefined),
        20_000,
      );
      for (const id of ids) expect(external.calls.get(id)).toBe(1);
      expect(external.maxConcurrentPerRecord()).toBe(1);
      expect(external.settled()).toBe(20);
      expect(worker.inFlightCount).toBe(0);
      const records = await repository.collection.find().toArray();
      for (const record of records) {
        expect(record.calls).toBe(1);
        expect(record.attempts).toBe(0);
        expect(record.claims).toBeGreaterThanOrEqual(1);
      }
      workers.pop();
      expect(await worker.stop(0)).toEqual({ finished: 0, released: 0 });
    });
  });

  describe('renewals spread over time (issue 10: acknowledgements while workers drain)', () => {
    /**
     * A heartbeat that renewed every running call at one beat sent thousands of renewals at once
     * (every third of a lease, per worker), and the embedded server's collection lock starved the
     * API's inserts meanwhile. A lease needs renewing only once a third of it has passed: calls
     * shorter than that are never renewed, and renewals come as the calls they keep started.
     */
    it('renews a lease once a third of it has passed, so calls shorter than that are never renewed', async () => {
      const watched = await openTestDatabase('worker_renewals', { monitorCommands: true });
      /** Renewal statements per record: updates that set the lease expiry without counting a call. */
      const renewals = new Map<string, number>();
      watched.client.on('commandStarted', (event: CommandStartedEvent) => {
        if (event.commandName !== 'update') return;
        for (const statement of event.command.updates as { q: { transaction_id?: string }; u: Document }[]) {
          const set = statement.u.$set as Document | undefined;
          const inc = statement.u.$inc as Document | undefined;
          const id = statement.q.transaction_id;
          if (id && set?.lease_expires_at && !inc && set.status === undefined)
            renewals.set(id, (renewals.get(id) ?? 0) + 1);
        }
      });
      try {
        const shortCallMs = 700;
        const longId = 'renewal-long-call';
        const call: ExternalCall = (record, signal) =>
          abortableDelay(record.transaction_id === longId ? 3_500 : shortCallMs, signal);
        startWorker(
          call,
          { leaseMs: 3_000, pollIntervalMs: 20 },
          new LeaseQueue(watched.db, undefined, { claimMode }),
        );
        await watched.repository.recordWebhook(
          transactionWebhookSchema.parse(sampleWebhook({ transaction_id: longId })),
        );
        // Short calls starting one after another for 3 s: at any moment some are running.
        const shortIds: string[] = [];
        for (let i = 0; i < 30; i++) {
          const { record } = await watched.repository.recordWebhook(
            transactionWebhookSchema.parse(sampleWebhook()),
          );
          shortIds.push(record.transaction_id);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        await waitFor(
          'all PROCESSED',
          async () =>
            (await watched.repository.collection.countDocuments({ status: TransactionStatus.PROCESSED })) ===
            31
              ? true
              : undefined,
          15_000,
        );
        expect(shortIds.filter((id) => renewals.has(id))).toEqual([]);
        // The long call outlives a lease (3.5 s against 3 s): renewed, never claimed again.
        expect(renewals.get(longId)).toBeGreaterThanOrEqual(2);
        const records = await watched.repository.collection.find().toArray();
        for (const record of records) {
          expect(record.calls).toBe(1);
          expect(record.claims).toBe(1);
        }
      } finally {
        await Promise.all(workers.splice(0).map((worker) => worker.stop(0)));
        await watched.drop();
      }
    });
  });

  describe('lost leases (finding 1)', () => {
    it('aborts the local call as soon as a heartbeat shows another worker holds the lease', async () => {
      const [id] = await seed(1);
      const external = countingCall(60_000);
      const registry = new Registry();
      let worker: TransactionWorker | undefined;
      const observer = createWorkerMetrics(registry, { inFlight: () => worker?.inFlightCount ?? 0 });
      worker = startWorker(external.call, { leaseMs: 1_000, observer });
      await waitFor('call started', () => (external.calls.size === 1 ? true : undefined), 5_000, 10);
      // The lease ran out (as after a long stall) and another worker claimed the record: one atomic
      // write, so this worker's heartbeat cannot renew the lease in between.
      const takeover = {
        lease_owner: 'other-worker',
        lease_token: 'other-token',
        due_at: new Date(Date.now() + 60_000),
      };
      await repository.collection.updateOne({ transaction_id: id! }, { $set: takeover, $inc: { claims: 1 } });

      await waitFor(
        'local call aborted',
        () => (external.aborted.length === 1 ? true : undefined),
        3_000,
        10,
      );
      await waitFor('in flight drained', () => (worker?.inFlightCount === 0 ? true : undefined), 3_000, 10);
      const metrics = parseMetrics(await registry.metrics());
      expect(sample(metrics, 'txhook_worker_leases_lost_total')).toBe(1);
      expect(sample(metrics, 'txhook_worker_in_flight')).toBe(0);
      const stored = await repository.findByTransactionId(id!);
      // Untouched: the other worker's lease, no attempt spent by the loser.
      expect(stored?.lease_token).toBe('other-token');
      expect(stored?.attempts).toBe(0);
    });
  });

  describe('starting a call after a pause (finding 1)', () => {
    it('re-checks a lease that may have lapsed before starting its call, and starts none if it is gone', async () => {
      const [id] = await seed(1);
      // The reply of the call-counting write arrives after a pause longer than the lease, and
      // meanwhile another worker took the record.
      class PausedReplyQueue extends LeaseQueue {
        override async startCalls(...args: Parameters<LeaseQueue['startCalls']>) {
          const counted = await super.startCalls(...args);
          await new Promise((resolve) => setTimeout(resolve, 1_200));
          await this.collection.updateOne(
            { transaction_id: id! },
            {
              $set: {
                lease_owner: 'other-worker',
                lease_token: 'other-token',
                due_at: new Date(Date.now() + 60_000),
              },
            },
          );
          return counted;
        }
      }
      const external = countingCall(100);
      const registry = new Registry();
      const observer = createWorkerMetrics(registry, { inFlight: () => 0 });
      const worker = new TransactionWorker(
        new PausedReplyQueue(database.db, undefined, { claimMode: queue.claimMode }),
        external.call,
        logger,
        {
          workerId: 'paused-reply',
          leaseMs: 1_000,
          concurrency: 10,
          pollIntervalMs: 50,
          claimBatchSize: 10,
          retryPolicy: new RetryPolicy({ maxAttempts: 3, baseDelayMs: 50, maxDelayMs: 100 }),
          observer,
        },
      );
      workers.push(worker);
      worker.start();
      await waitFor(
        'lease found lost',
        async () =>
          sample(parseMetrics(await registry.metrics()), 'txhook_worker_leases_lost_total') === 1
            ? true
            : undefined,
        5_000,
      );
      expect(external.calls.size).toBe(0);
      expect(worker.inFlightCount).toBe(0);
      expect((await repository.findByTransactionId(id!))?.lease_owner).toBe('other-worker');
    });
  });

  describe('call deadline (finding 2)', () => {
    it('aborts a call that never settles at the deadline, retries it, and ends FAILED', async () => {
      const [id] = await seed(1);
      let started = 0;
      // Never settles and ignores its abort signal, like a hung socket.
      const hung: ExternalCall = () => {
        started += 1;
        return new Promise<void>(() => undefined);
      };
      const registry = new Registry();
      const observer = createWorkerMetrics(registry, { inFlight: () => 0 });
      startWorker(hung, { leaseMs: 1_000, externalCallTimeoutMs: 400, observer });
      const failed = await waitFor(
        'FAILED',
        async () => {
          const doc = await repository.findByTransactionId(id!);
          return doc?.status === TransactionStatus.FAILED ? doc : undefined;
        },
        15_000,
      );
      expect(started).toBe(3);
      expect(failed.calls).toBe(3);
      expect(failed.attempts).toBe(3);
      expect(failed.claims).toBe(3);
      expect(failed.last_error).toMatch(/timed out after 400 ms/);
      const metrics = parseMetrics(await registry.metrics());
      expect(sample(metrics, 'txhook_worker_call_timeouts_total')).toBe(3);
      expect(sample(metrics, 'txhook_worker_retries_total')).toBe(2);
      expect(sample(metrics, 'txhook_worker_failed_total')).toBe(1);
    });
  });

  describe('shutdown (finding 5)', () => {
    it('releases unfinished calls without spending their attempt budget', async () => {
      await seed(3);
      const external = countingCall(60_000);
      const worker = startWorker(external.call, { leaseMs: 5_000 });
      await waitFor('calls started', () => (external.calls.size === 3 ? true : undefined), 5_000, 10);
      workers.pop();
      expect(await worker.stop(100)).toEqual({ finished: 0, released: 3 });
      const records = await repository.collection.find().toArray();
      for (const record of records) {
        expect(record.status).toBe(TransactionStatus.PROCESSING);
        expect(record.lease_token).toBeNull();
        expect(record.attempts).toBe(0);
        expect(record.calls).toBe(1);
      }
    });
  });
});
