import { randomBytes } from 'node:crypto';
import { MongoClient, type Collection, type Filter } from 'mongodb';
import type { TransactionDocument } from '@txhook/transactions';
import { testDatabaseUrl } from './database';
import type { AppProcess } from './launcher';
import { sleep, waitFor } from './waiting';

/** Environment for API/worker processes of one e2e test file, on its own database. */
export function e2eEnv(label: string, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    MONGODB_URL: testDatabaseUrl(),
    MONGODB_DB: `e2e_${label}_${randomBytes(4).toString('hex')}`,
    PROCESSING_DELAY_MS: '1000',
    LEASE_MS: '3000',
    POLL_INTERVAL_MS: '100',
    SHUTDOWN_GRACE_MS: '2000',
    ...overrides,
  };
}

/** Direct read access to what the processes stored, for assertions. */
export async function openCollection(env: Record<string, string>): Promise<{
  transactions: Collection<TransactionDocument>;
  close(): Promise<void>;
}> {
  // Bounded like the apps' own clients: the driver's default socket timeout is none at all, so a
  // server that stops answering would hang the test instead of failing it with a driver error.
  const client = await MongoClient.connect(env.MONGODB_URL!, {
    serverSelectionTimeoutMS: 15_000,
    socketTimeoutMS: 30_000,
  });
  const db = client.db(env.MONGODB_DB);
  return {
    transactions: db.collection<TransactionDocument>('transactions'),
    async close() {
      await db.dropDatabase().catch(() => undefined);
      await client.close();
    },
  };
}

/** Stops every process still running (SIGKILL after a timeout), so no test leaves one behind. */
export async function stopAll(processes: AppProcess[]): Promise<void> {
  await Promise.all(processes.map((p) => p.stop(10_000)));
}

/**
 * transaction_id -> how many times workers logged it as processed, once at least `expected` ids
 * have been logged (or `timeoutMs` passed). A worker logs after its write, and its lines reach us
 * through a pipe, so a record can read PROCESSED before its line has arrived here.
 */
export async function processedCounts(
  workers: AppProcess[],
  expected: number,
  timeoutMs = 10_000,
): Promise<Map<string, number>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const counts = new Map<string, number>();
    for (const worker of workers) {
      for (const line of worker.logsWith('transaction processed')) {
        const id = String(line.transaction_id);
        counts.set(id, (counts.get(id) ?? 0) + 1);
      }
    }
    if (counts.size >= expected || Date.now() > deadline) return counts;
    await sleep(50);
  }
}

/** Runs `task` over `items` with at most `limit` at a time. */
export async function mapLimit<T, R>(items: T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await task(items[index]!);
      }
    }),
  );
  return results;
}

export type Store = Awaited<ReturnType<typeof openCollection>>;

export interface E2eContext {
  env: Record<string, string>;
  /** Every process the test starts; all are stopped (SIGKILL after a timeout) after the file. */
  processes: AppProcess[];
  /** Read access to the test's database, dropped after the file. */
  store: Store;
}

/** Registers the beforeAll/afterAll of an e2e or fault test file around the env it gets. */
export function e2eContext(
  makeEnv: () => Record<string, string> | Promise<Record<string, string>>,
): E2eContext {
  const context = { processes: [] as AppProcess[] } as E2eContext;
  beforeAll(async () => {
    context.env = await makeEnv();
    context.store = await openCollection(context.env);
  });
  afterAll(async () => {
    await stopAll(context.processes);
    await context.store?.close();
  });
  return context;
}

/** Waits until `expected` records match `filter`. */
export async function waitForRecords(
  store: Store,
  filter: Filter<TransactionDocument>,
  expected: number,
  timeoutMs: number,
): Promise<void> {
  await waitFor(
    `${expected} records matching ${JSON.stringify(filter)}`,
    async () => ((await store.transactions.countDocuments(filter)) === expected ? true : undefined),
    timeoutMs,
    250,
  );
}
