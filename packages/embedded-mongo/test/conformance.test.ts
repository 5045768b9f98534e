/**
 * Conformance of the database server the suite runs on, for the two properties the service
 * relies on: unique indexes reject duplicates with error 11000, and findOneAndUpdate claims are
 * atomic (no document claimed twice under concurrency). Runs against each embedded backend
 * (memory, and H2 with a data file) or, when MONGODB_URL was given, against that server.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MongoClient, MongoServerError } from 'mongodb';
import { CLAIM_MODES, LeaseQueue, TransactionStore, transactionWebhookSchema } from '@txhook/transactions';
import { startEmbeddedMongo, type EmbeddedBackend, type EmbeddedMongo } from '../src/index';

const DOCUMENTS = 2_000;
const CLIENTS = 8;

interface Target {
  name: string;
  url(): string;
  setup?(): Promise<void>;
  teardown?(): Promise<void>;
}

/** A server of the test's own, so each backend is checked whatever the rest of the suite uses. */
function embeddedTarget(backend: EmbeddedBackend): Target {
  let server: EmbeddedMongo | undefined;
  let dir = '';
  return {
    name: `embedded mongo-java-server, ${backend} backend`,
    url: () => server!.url,
    async setup() {
      dir = mkdtempSync(path.join(tmpdir(), 'txhook-conformance-'));
      server = await startEmbeddedMongo(
        backend === 'h2' ? { backend, h2File: path.join(dir, 'data.mv') } : { backend },
      );
    },
    async teardown() {
      await server?.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const targets: Target[] = process.env.TEST_EMBEDDED_MONGO
  ? [embeddedTarget('memory'), embeddedTarget('h2')]
  : [
      {
        name: 'the MONGODB_URL server',
        url: () => process.env.MONGODB_URL ?? '',
      },
    ];

describe.each(targets)('conformance: $name', (target) => {
  let client: MongoClient;
  const dbName = `conformance_${Date.now()}_${Math.floor(Math.random() * 1e6)}`;

  beforeAll(async () => {
    await target.setup?.();
    client = await MongoClient.connect(target.url());
  }, 90_000);

  afterAll(async () => {
    await client
      .db(dbName)
      .dropDatabase()
      .catch(() => undefined);
    await client.close();
    await target.teardown?.();
  });

  it('rejects a duplicate on a unique index with error 11000', async () => {
    const collection = client.db(dbName).collection('unique_check');
    await collection.createIndex({ key: 1 }, { unique: true });
    await collection.insertOne({ key: 'a' });
    const error = await collection.insertOne({ key: 'a' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(MongoServerError);
    expect((error as MongoServerError).code).toBe(11000);
    expect(await collection.countDocuments({ key: 'a' })).toBe(1);
  });

  it(`lets ${CLIENTS} concurrent clients claim ${DOCUMENTS} documents, each exactly once`, async () => {
    const collection = client
      .db(dbName)
      .collection<{ n: number; status: string; claims: number; owner?: number }>('claims');
    await collection.createIndex({ status: 1, n: 1 });
    await collection.insertMany(
      Array.from({ length: DOCUMENTS }, (_, n) => ({ n, status: 'PENDING', claims: 0 })),
    );

    const claimers = await Promise.all(
      Array.from({ length: CLIENTS }, () => MongoClient.connect(target.url(), { maxPoolSize: 4 })),
    );
    try {
      const claimedBy = await Promise.all(
        claimers.map(async (claimer, owner) => {
          const mine: number[] = [];
          const own = claimer.db(dbName).collection<{ n: number; status: string; claims: number }>('claims');
          for (;;) {
            const doc = await own.findOneAndUpdate(
              { status: 'PENDING' },
              { $set: { status: 'CLAIMED', owner }, $inc: { claims: 1 } },
              { sort: { n: 1 }, returnDocument: 'after' },
            );
            if (!doc) return mine;
            mine.push(doc.n);
          }
        }),
      );
      const all = claimedBy.flat();
      expect(all).toHaveLength(DOCUMENTS);
      expect(new Set(all).size).toBe(DOCUMENTS);
      expect(await collection.countDocuments({ claims: 1, status: 'CLAIMED' })).toBe(DOCUMENTS);
      expect(await collection.countDocuments({ claims: { $ne: 1 } })).toBe(0);
      // Every client took part, so the claims really were concurrent.
      for (const mine of claimedBy) expect(mine.length).toBeGreaterThan(0);
    } finally {
      await Promise.all(claimers.map((claimer) => claimer.close()));
    }
  }, 120_000);

  it.each(CLAIM_MODES)(
    `lets 3 workers claim ${DOCUMENTS} transactions (claim mode %s), each exactly once`,
    async (claimMode) => {
      const clients = await Promise.all(
        Array.from({ length: 3 }, () => MongoClient.connect(target.url(), { maxPoolSize: 4 })),
      );
      try {
        const repositories = clients.map((c) => new TransactionStore(c.db(dbName)));
        const queues = clients.map((c) => new LeaseQueue(c.db(dbName), undefined, { claimMode }));
        await repositories[0]!.ensureIndexes();
        // Each mode claims a queue of its own.
        await repositories[0]!.collection.deleteMany({});
        for (let start = 0; start < DOCUMENTS; start += 500) {
          await Promise.all(
            Array.from({ length: 500 }, (_, i) =>
              repositories[0]!.recordWebhook(
                transactionWebhookSchema.parse({
                  transaction_id: `batch-${start + i}`,
                  source_account: 'a',
                  destination_account: 'b',
                  amount: '1',
                  currency: 'EUR',
                }),
              ),
            ),
          );
        }
        const claimedBy = await Promise.all(
          queues.map(async (queue, worker) => {
            const mine: string[] = [];
            for (let emptyRounds = 0; emptyRounds < 3;) {
              const batch = (await queue.claim(`worker-${worker}`, 60_000, 50)).claimed;
              if (batch.length === 0) emptyRounds += 1;
              mine.push(...batch.map((record) => record.transaction_id));
            }
            return mine;
          }),
        );
        const all = claimedBy.flat();
        expect(all).toHaveLength(DOCUMENTS);
        expect(new Set(all).size).toBe(DOCUMENTS);
        const transactions = clients[0]!.db(dbName).collection('transactions');
        expect(await transactions.countDocuments({ claims: 1, lease_token: { $ne: null } })).toBe(DOCUMENTS);
        expect(claimedBy.filter((mine) => mine.length > 0).length).toBeGreaterThanOrEqual(2);
      } finally {
        await Promise.all(clients.map((c) => c.close()));
      }
    },
    120_000,
  );
});
