/**
 * Retention: terminal records (PROCESSED, FAILED) carry `expire_at`, set by the same fenced write
 * that makes them terminal; a TTL index removes them on MongoDB, and deleteExpired (the worker's
 * sweep, for servers without TTL expiry) removes them in bounded batches, never a PROCESSING one.
 */
import { LeaseQueue } from '../src/lease-queue';
import { TransactionStore, TRANSACTION_INDEXES } from '../src/transaction-store';
import { TransactionQueries } from '../src/transaction-queries';
import { TransactionStatus } from '../src/transaction';
import { transactionWebhookSchema } from '../src/schemas';
import { openTestDatabase, sampleWebhook, type TestDatabase } from '@txhook/test-kit';

const DAY_MS = 86_400_000;
const NOW = new Date('2026-03-01T12:00:00.000Z');

let database: TestDatabase;
beforeAll(async () => {
  database = await openTestDatabase('retention');
});
afterAll(async () => {
  await database.drop();
});
beforeEach(async () => {
  await database.repository.collection.deleteMany({});
});

const webhook = () => transactionWebhookSchema.parse(sampleWebhook());
/** The store and the lease queue, both at `time`. */
const at = (time: Date, retentionDays?: number) =>
  Object.assign(new TransactionStore(database.db, () => time), {
    queue: new LeaseQueue(database.db, () => time, retentionDays === undefined ? {} : { retentionDays }),
  });

/** Stores a webhook and claims it; resolves with its id and lease token. */
async function claimed(repository: ReturnType<typeof at>): Promise<{ id: string; token: string }> {
  const input = webhook();
  await repository.recordWebhook(input);
  const [record] = (await repository.queue.claim('worker-a', 30_000, 1)).claimed;
  expect(record?.transaction_id).toBe(input.transaction_id);
  return { id: input.transaction_id, token: record!.lease_token };
}

describe('expire_at on terminal records', () => {
  it('is processed_at + RETENTION_DAYS (30 by default) when a record becomes PROCESSED', async () => {
    const repository = at(NOW);
    const { id, token } = await claimed(repository);
    expect(await repository.queue.finish([{ transaction_id: id, lease_token: token }])).toEqual(
      new Set([id]),
    );
    const stored = await repository.findByTransactionId(id);
    expect(stored?.status).toBe(TransactionStatus.PROCESSED);
    expect(stored?.expire_at?.getTime()).toBe(NOW.getTime() + 30 * DAY_MS);
  });

  it('is failed_at + RETENTION_DAYS when a record becomes FAILED, and a requeue clears it', async () => {
    const repository = at(NOW, 7);
    const { id, token } = await claimed(repository);
    expect(await repository.queue.fail({ transaction_id: id, lease_token: token }, 'boom')).toBe(true);
    expect((await repository.findByTransactionId(id))?.expire_at?.getTime()).toBe(NOW.getTime() + 7 * DAY_MS);
    expect(await repository.requeueFailed(id, 'ops')).toBe(true);
    const requeued = await repository.findByTransactionId(id);
    expect(requeued?.status).toBe(TransactionStatus.PROCESSING);
    expect(requeued?.expire_at ?? null).toBeNull();
  });

  it('is not set with RETENTION_DAYS=0 (keep forever), nor on records still PROCESSING', async () => {
    const repository = at(NOW, 0);
    const { id, token } = await claimed(repository);
    expect((await repository.findByTransactionId(id))?.expire_at ?? null).toBeNull();
    await repository.queue.finish([{ transaction_id: id, lease_token: token }]);
    const stored = await repository.findByTransactionId(id);
    expect(stored?.status).toBe(TransactionStatus.PROCESSED);
    expect(stored?.expire_at ?? null).toBeNull();
  });

  it('is removed on MongoDB by a TTL index on expire_at that the service creates', async () => {
    const indexes = (await database.repository.collection.listIndexes().toArray()) as {
      key: unknown;
      name: string;
    }[];
    const ttl = indexes.find((index) => JSON.stringify(index.key) === '{"expire_at":1}');
    expect(ttl?.name).toBe('expire_at_ttl');
    expect(TRANSACTION_INDEXES.find((index) => index.name === 'expire_at_ttl')).toMatchObject({
      expireAfterSeconds: 0,
    });
    expect(await database.repository.missingIndexes()).toEqual([]);
  });
});

describe('deleteExpired (the sweep for servers without TTL expiry)', () => {
  it('deletes expired terminal records in bounded batches and never a PROCESSING one', async () => {
    const past = at(new Date(NOW.getTime() - 40 * DAY_MS));
    const recent = at(new Date(NOW.getTime() - 2 * DAY_MS));
    const expiredIds: string[] = [];
    for (let i = 0; i < 5; i++) {
      const { id, token } = await claimed(past);
      await past.queue.finish([{ transaction_id: id, lease_token: token }]);
      expiredIds.push(id);
    }
    const failed = await claimed(past);
    await past.queue.fail({ transaction_id: failed.id, lease_token: failed.token }, 'boom');
    expiredIds.push(failed.id);
    const young = await claimed(recent);
    await recent.queue.finish([{ transaction_id: young.id, lease_token: young.token }]);
    // A PROCESSING record is never deleted, even one carrying a stale expire_at.
    const inFlight = await claimed(past);
    await database.repository.collection.updateOne(
      { transaction_id: inFlight.id },
      { $set: { expire_at: new Date(NOW.getTime() - DAY_MS) } },
    );

    const repository = at(NOW);
    expect(await repository.deleteExpired(4)).toBe(4);
    expect(await repository.deleteExpired(4)).toBe(2);
    expect(await repository.deleteExpired(4)).toBe(0);
    const left = await repository.collection.find({}, { projection: { transaction_id: 1 } }).toArray();
    expect(left.map((doc) => doc.transaction_id).sort()).toEqual([young.id, inFlight.id].sort());
  });
});

describe('GET /v1/stats shows the retention window', () => {
  it('reports the days and whether records are kept forever', async () => {
    expect((await new TransactionQueries(database.db, { retentionDays: 30 }).stats()).retention).toEqual({
      days: 30,
      keep_forever: false,
    });
    expect((await new TransactionQueries(database.db, { retentionDays: 0 }).stats()).retention).toEqual({
      days: 0,
      keep_forever: true,
    });
  });
});
