/**
 * The lease queue against a real server, in both claim modes: the same guarantees whichever
 * primitive claims (findOneAndUpdate per record, or the batched find + updateMany + read-back).
 */
import type { CommandStartedEvent, Document } from 'mongodb';
import { CLAIM_MODES } from '../src/claim-mode';
import {
  leaseFence,
  LeaseQueue,
  READ_BACK_CHUNK,
  type ClaimedTransaction,
  type LeaseRef,
} from '../src/lease-queue';
import { TRANSACTION_INDEXES, TransactionStore } from '../src/transaction-store';
import { TransactionStatus } from '../src/transaction';
import { transactionWebhookSchema } from '../src/schemas';
import { openTestDatabase, sampleWebhook, type TestDatabase } from '@txhook/test-kit';

const leaseOf = (record: ClaimedTransaction): LeaseRef => ({
  transaction_id: record.transaction_id,
  lease_token: record.lease_token,
});

let database: TestDatabase;
beforeAll(async () => {
  database = await openTestDatabase('lease_queue');
});
afterAll(async () => {
  await database.drop();
});

const webhook = (overrides = {}) => transactionWebhookSchema.parse(sampleWebhook(overrides));

it('fences every lease write with exactly the fields of a unique index (the only filter the embedded server serves from an index)', () => {
  const fenceFields = Object.keys(leaseFence('tx-1', 'token-1')).sort();
  const unique = TRANSACTION_INDEXES.filter((index) => 'unique' in index && index.unique);
  expect(unique.map((index) => Object.keys(index.key).sort())).toContainEqual(fenceFields);
  expect(leaseFence('tx-1', 'token-1')).toEqual({
    transaction_id: 'tx-1',
    lease_token: 'token-1',
    status: TransactionStatus.PROCESSING,
  });
});

describe.each(CLAIM_MODES)('leases, claim mode %s', (claimMode) => {
  // A clock we move by hand so lease expiry is tested without waiting.
  let nowMs = Date.parse('2030-01-01T00:00:00Z');
  const clock = () => new Date(nowMs);
  let repo: TransactionStore;
  let queue: LeaseQueue;
  /** One record, claimed the way the mode claims (a round of one). */
  const claimNext = async (owner: string, leaseMs: number) =>
    (await queue.claim(owner, leaseMs, 1)).claimed[0] ?? null;
  /** markProcessed of one record, through the batched finish the worker uses. */
  const finishOne = async (lease: LeaseRef) => (await queue.finish([lease])).has(lease.transaction_id);

  beforeAll(async () => {
    await database.repository.collection.deleteMany({});
    repo = new TransactionStore(database.db, clock);
    queue = new LeaseQueue(database.db, clock, { claimMode });
  });

  it('claims a due record once, stamping owner, token, expiry and counting the claim', async () => {
    const { record } = await repo.recordWebhook(webhook());
    const claimed = await claimNext('worker-a', 10_000);
    expect(claimed?.transaction_id).toBe(record.transaction_id);
    expect(claimed?.lease_owner).toBe('worker-a');
    expect(claimed?.lease_token).toEqual(expect.any(String));
    expect(claimed).toMatchObject({ claims: 1, unsettled_claims: 1, calls: 0, attempts: 0 });
    expect(claimed?.lease_expires_at.getTime()).toBe(nowMs + 10_000);
    expect(await claimNext('worker-b', 10_000)).toBeNull();
  });

  it('hands out each claimed record with every stored field as stored, all records in one object shape', async () => {
    await repo.collection.deleteMany({});
    await repo.recordWebhook(webhook());
    const { record: requeued } = await repo.recordWebhook(webhook({ currency: 'JPY', amount: '1500' }));
    // As an operator's requeue leaves it: fields the other record does not store at all.
    await repo.collection.updateOne(
      { transaction_id: requeued.transaction_id },
      { $set: { requeued_by: 'ops-key', requeued_at: new Date(nowMs) } },
    );
    const { claimed } = await queue.claim('worker-a', 10_000, 2);
    expect(claimed).toHaveLength(2);
    for (const record of claimed) {
      const stored = await repo.collection.findOne({ transaction_id: record.transaction_id });
      expect(record).toEqual(stored);
    }
    // One shape for all, whatever each stores (what keeps thousands in flight small): the same keys
    // in the same order.
    expect(Object.keys(claimed[0]!)).toEqual(Object.keys(claimed[1]!));
  });

  it('makes a record due again only after its lease expires, with a new token', async () => {
    await repo.collection.deleteMany({});
    await repo.recordWebhook(webhook());
    const first = await claimNext('worker-a', 10_000);
    nowMs += 9_999;
    expect(await claimNext('worker-b', 10_000)).toBeNull();
    nowMs += 2;
    const second = await claimNext('worker-b', 10_000);
    expect(second?.transaction_id).toBe(first?.transaction_id);
    expect(second?.lease_token).not.toBe(first?.lease_token);
    expect(second).toMatchObject({ claims: 2, unsettled_claims: 2, attempts: 0 });
  });

  it('fences completion: the holder of an old token cannot mark the record PROCESSED', async () => {
    await repo.collection.deleteMany({});
    await repo.recordWebhook(webhook());
    const stale = await claimNext('worker-a', 1_000);
    nowMs += 1_001;
    const current = await claimNext('worker-b', 1_000);
    expect(await finishOne({ transaction_id: stale!.transaction_id, lease_token: stale!.lease_token })).toBe(
      false,
    );
    let stored = await repo.findByTransactionId(stale!.transaction_id);
    expect(stored?.status).toBe(TransactionStatus.PROCESSING);
    expect(stored?.lease_owner).toBe('worker-b');

    expect(
      await finishOne({ transaction_id: current!.transaction_id, lease_token: current!.lease_token }),
    ).toBe(true);
    stored = await repo.findByTransactionId(stale!.transaction_id);
    expect(stored?.status).toBe(TransactionStatus.PROCESSED);
    expect(stored?.processed_at?.getTime()).toBe(nowMs);
    expect(stored?.lease_token).toBeNull();
    // Finishing twice changes nothing (a retry after a lost reply is told it was done, once).
    const processedAt = stored?.processed_at?.getTime();
    nowMs += 1_000;
    expect(
      await finishOne({ transaction_id: current!.transaction_id, lease_token: current!.lease_token }),
    ).toBe(true);
    expect((await repo.findByTransactionId(stale!.transaction_id))?.processed_at?.getTime()).toBe(
      processedAt,
    );
    // The stale token still cannot.
    expect(await finishOne({ transaction_id: stale!.transaction_id, lease_token: stale!.lease_token })).toBe(
      false,
    );
  });

  it('renews only the leases named by their tokens', async () => {
    await repo.collection.deleteMany({});
    await repo.recordWebhook(webhook());
    await repo.recordWebhook(webhook());
    const kept = await claimNext('worker-a', 1_000);
    const other = await claimNext('worker-a', 1_000);
    nowMs += 500;
    expect(await queue.renew('worker-a', [leaseOf(kept!)], 1_000)).toEqual(
      new Map([[kept!.transaction_id, kept!.lease_token]]),
    );
    nowMs += 600; // `other` expired, `kept` still valid
    const reclaimed = await claimNext('worker-b', 1_000);
    expect(reclaimed?.transaction_id).toBe(other!.transaction_id);
    expect(await claimNext('worker-b', 1_000)).toBeNull();
  });

  it('tells the heartbeat, per record, which leases are still ours and under which token', async () => {
    await repo.collection.deleteMany({});
    await repo.recordWebhook(webhook());
    await repo.recordWebhook(webhook());
    await repo.recordWebhook(webhook());
    const batch = (await queue.claim('worker-a', 1_000, 3)).claimed;
    expect(batch).toHaveLength(3);
    const [lost, reclaimedByUs, kept] = batch as [ClaimedTransaction, ClaimedTransaction, ClaimedTransaction];
    nowMs += 1_001;
    // One lease is taken by another worker, one claimed back by the same worker (new token).
    await repo.collection.updateMany(
      { transaction_id: kept.transaction_id },
      { $set: { due_at: new Date(nowMs + 60_000) } },
    );
    await repo.collection.updateMany(
      { transaction_id: reclaimedByUs.transaction_id },
      { $set: { due_at: new Date(nowMs + 60_000) } },
    );
    const takeover = await claimNext('worker-b', 1_000);
    expect(takeover?.transaction_id).toBe(lost.transaction_id);
    await repo.collection.updateMany(
      { transaction_id: reclaimedByUs.transaction_id },
      { $set: { due_at: new Date(0) } },
    );
    const again = await claimNext('worker-a', 1_000);
    expect(again?.transaction_id).toBe(reclaimedByUs.transaction_id);

    const held = await queue.renew('worker-a', batch.map(leaseOf), 5_000);
    expect(held).toEqual(
      new Map([
        [reclaimedByUs.transaction_id, again!.lease_token],
        [kept.transaction_id, kept.lease_token],
      ]),
    );
    // Only the lease named by its token was extended; the other worker's is untouched.
    const stored = await repo.collection.find().toArray();
    const byId = new Map(stored.map((doc) => [doc.transaction_id, doc]));
    expect(byId.get(kept.transaction_id)?.lease_expires_at?.getTime()).toBe(nowMs + 5_000);
    expect(byId.get(lost.transaction_id)?.lease_owner).toBe('worker-b');
    expect(byId.get(lost.transaction_id)?.lease_expires_at?.getTime()).toBe(
      takeover!.lease_expires_at.getTime(),
    );
  });

  it('counts a call only on records still leased by the given token (fenced), before it starts', async () => {
    await repo.collection.deleteMany({});
    await repo.recordWebhook(webhook());
    await repo.recordWebhook(webhook());
    const [ours, lost] = (await queue.claim('worker-a', 1_000, 2)).claimed as [
      ClaimedTransaction,
      ClaimedTransaction,
    ];
    await repo.collection.updateOne(
      { transaction_id: lost.transaction_id },
      { $set: { due_at: new Date(0) } },
    );
    await repo.collection.updateOne(
      { transaction_id: ours.transaction_id },
      { $set: { due_at: new Date(nowMs + 60_000) } },
    );
    expect((await claimNext('worker-b', 1_000))?.transaction_id).toBe(lost.transaction_id);
    const started = await queue.startCalls('worker-a', [leaseOf(ours), leaseOf(lost)], 2_000);
    expect([...started.keys()]).toEqual([ours.transaction_id]);
    expect((await repo.findByTransactionId(ours.transaction_id))?.calls).toBe(1);
    expect((await repo.findByTransactionId(lost.transaction_id))?.calls).toBe(0);
  });

  it('spends an attempt on a failure, none on a release, and settles the lease either way', async () => {
    await repo.collection.deleteMany({});
    const { record } = await repo.recordWebhook(webhook());
    const first = await claimNext('worker-a', 1_000);
    expect(
      await queue.release({ transaction_id: record.transaction_id, lease_token: first!.lease_token }),
    ).toBe(true);
    let stored = await repo.findByTransactionId(record.transaction_id);
    expect(stored).toMatchObject({ attempts: 0, claims: 1, unsettled_claims: 0 });
    const second = await claimNext('worker-a', 1_000);
    expect(
      await queue.retry(
        { transaction_id: record.transaction_id, lease_token: second!.lease_token },
        'boom',
        new Date(nowMs),
      ),
    ).toBe(true);
    stored = await repo.findByTransactionId(record.transaction_id);
    expect(stored).toMatchObject({ attempts: 1, claims: 2, unsettled_claims: 0, last_error: 'boom' });
  });

  it('fails a record leased MAX_CLAIMS times without an outcome as poison, and never leases it again', async () => {
    await repo.collection.deleteMany({});
    const { record: poison } = await repo.recordWebhook(webhook());
    const { record: healthy } = await repo.recordWebhook(webhook());
    await repo.collection.updateOne(
      { transaction_id: healthy.transaction_id },
      { $set: { due_at: new Date(nowMs + 5_000) } },
    );
    for (let claim = 1; claim <= 3; claim++) {
      const { claimed, poisoned } = await queue.claim('worker-a', 1_000, 1, 3);
      expect(claimed.map((r) => r.transaction_id)).toEqual([poison.transaction_id]);
      expect(poisoned).toEqual([]);
      nowMs += 1_001; // the worker died: its lease expires with no outcome
    }
    const { claimed, poisoned } = await queue.claim('worker-a', 1_000, 10, 3);
    expect(poisoned).toEqual([poison.transaction_id]);
    expect(claimed).toEqual([]);
    const stored = await repo.findByTransactionId(poison.transaction_id);
    expect(stored).toMatchObject({ status: TransactionStatus.FAILED, claims: 3, lease_token: null });
    expect(stored?.last_error).toMatch(/poison record: leased 3 times without an outcome/);
    nowMs += 10_000;
    const later = await queue.claim('worker-b', 1_000, 10, 3);
    expect(later.claimed.map((r) => r.transaction_id)).toEqual([healthy.transaction_id]);
    // Requeued, it has a fresh budget.
    expect(await repo.requeueFailed(poison.transaction_id, 'test')).toBe(true);
    expect((await repo.findByTransactionId(poison.transaction_id))?.unsettled_claims).toBe(0);
  });

  it('release makes a record due at once for another worker', async () => {
    await repo.collection.deleteMany({});
    await repo.recordWebhook(webhook());
    const claimed = await claimNext('worker-a', 60_000);
    expect(
      await queue.release({ transaction_id: claimed!.transaction_id, lease_token: claimed!.lease_token }),
    ).toBe(true);
    const again = await claimNext('worker-b', 60_000);
    expect(again?.transaction_id).toBe(claimed!.transaction_id);
    expect(again?.lease_owner).toBe('worker-b');
  });

  it('claims the oldest due record first', async () => {
    await repo.collection.deleteMany({});
    const older = await repo.recordWebhook(webhook());
    nowMs += 10;
    await repo.recordWebhook(webhook());
    expect((await claimNext('w', 1_000))?.transaction_id).toBe(older.record.transaction_id);
  });

  it('claims a round of the oldest due records, each once, under fresh tokens (one shared in batch mode, one each in single mode)', async () => {
    await repo.collection.deleteMany({});
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push((await repo.recordWebhook(webhook())).record.transaction_id);
      nowMs += 1;
    }
    const first = (await queue.claim('worker-a', 1_000, 3)).claimed;
    expect(first.map((r) => r.transaction_id).sort()).toEqual(ids.slice(0, 3).sort());
    expect(new Set(first.map((r) => r.lease_token)).size).toBe(claimMode === 'batch' ? 1 : 3);
    expect(first.every((r) => r.claims === 1 && r.attempts === 0 && r.lease_owner === 'worker-a')).toBe(true);
    const second = (await queue.claim('worker-b', 1_000, 10)).claimed;
    expect(second.map((r) => r.transaction_id).sort()).toEqual(ids.slice(3).sort());
    expect(second[0]?.lease_token).not.toBe(first[0]?.lease_token);
    expect((await queue.claim('worker-c', 1_000, 10)).claimed).toEqual([]);
    // One record of a batch finishes; the token fences per record, not per batch.
    expect(
      await finishOne({ transaction_id: first[0]!.transaction_id, lease_token: first[0]!.lease_token }),
    ).toBe(true);
    const sibling = await repo.findByTransactionId(first[1]!.transaction_id);
    expect(sibling?.status).toBe(TransactionStatus.PROCESSING);
    expect(sibling?.lease_token).toBe(first[1]!.lease_token);
  });

  it('finishes a batch in one fenced round trip and reports exactly the records it finished', async () => {
    await repo.collection.deleteMany({});
    for (let i = 0; i < 3; i++) await repo.recordWebhook(webhook());
    const batch = (await queue.claim('worker-a', 1_000, 3)).claimed;
    expect(batch).toHaveLength(3);
    // One record of the batch is taken over by another worker after its lease ran out.
    const lost = batch[0]!;
    await repo.collection.updateOne(
      { transaction_id: lost.transaction_id },
      { $set: { due_at: new Date(0) } },
    );
    const takeover = await claimNext('worker-b', 60_000);
    expect(takeover?.transaction_id).toBe(lost.transaction_id);

    const finished = await queue.finish(batch);
    expect([...finished].sort()).toEqual(
      batch
        .slice(1)
        .map((r) => r.transaction_id)
        .sort(),
    );
    const stillTheirs = await repo.findByTransactionId(lost.transaction_id);
    expect(stillTheirs?.status).toBe(TransactionStatus.PROCESSING);
    expect(stillTheirs?.lease_token).toBe(takeover?.lease_token);
    // Repeating it (a retry after a lost reply) changes nothing and reports the same records.
    const processedAt = (await repo.findByTransactionId(batch[1]!.transaction_id))?.processed_at;
    nowMs += 5_000;
    const again = await queue.finish(batch);
    expect([...again].sort()).toEqual([...finished].sort());
    expect((await repo.findByTransactionId(batch[1]!.transaction_id))?.processed_at).toEqual(processedAt);
    // Once the other worker has finished the lost record too, it is still not reported as ours.
    expect(await finishOne({ transaction_id: lost.transaction_id, lease_token: takeover!.lease_token })).toBe(
      true,
    );
    const afterTheirs = await queue.finish(batch);
    expect([...afterTheirs].sort()).toEqual([...finished].sort());
  });
});

/**
 * A worker renews every lease it holds in one heartbeat (thousands while calls run). The embedded
 * server matches a `$in` read-back by comparing each candidate with every listed value while it
 * holds the collection's lock: thousands of ids cost seconds in which no webhook can be stored
 * (the mixed-load profile, bench/analysis.md). So the lease writes read back only when some lease
 * was not ours, and then in chunks of at most READ_BACK_CHUNK ids.
 */
describe('lease writes of many leases, watched through command monitoring', () => {
  let watched: TestDatabase;
  const finds: Document[] = [];
  let queue: LeaseQueue;
  let store: TransactionStore;
  const records = READ_BACK_CHUNK + 44;

  beforeAll(async () => {
    watched = await openTestDatabase('lease_queue_commands', { monitorCommands: true });
    watched.client.on('commandStarted', (event: CommandStartedEvent) => {
      if (event.commandName === 'find') finds.push(event.command);
    });
    queue = new LeaseQueue(watched.db, undefined, { claimMode: 'batch' });
    store = new TransactionStore(watched.db);
  });
  afterAll(async () => {
    await watched.drop();
  });

  /** A fresh set of `records` claimed records, and no find seen yet. */
  async function claimAll(): Promise<ClaimedTransaction[]> {
    await store.collection.deleteMany({});
    await Promise.all(Array.from({ length: records }, () => store.recordWebhook(webhook())));
    const claimed = (await queue.claim('worker-a', 60_000, records)).claimed;
    expect(claimed).toHaveLength(records);
    finds.length = 0;
    return claimed;
  }

  const idsPerFind = () =>
    finds.map((find) => (find.filter as { transaction_id: { $in: string[] } }).transaction_id.$in.length);

  it('renews and counts calls of leases that are all still ours without reading them back', async () => {
    const claimed = await claimAll();
    const renewed = await queue.renew('worker-a', claimed.map(leaseOf), 60_000);
    expect(renewed).toEqual(new Map(claimed.map((record) => [record.transaction_id, record.lease_token])));
    const started = await queue.startCalls('worker-a', claimed.map(leaseOf), 60_000);
    expect(started.size).toBe(records);
    expect(finds).toEqual([]);
    const stored = await store.collection.find({}, { projection: { calls: 1 } }).toArray();
    expect(stored.map((doc) => doc.calls)).toEqual(Array(records).fill(1));
  });

  it('reads back in chunks of at most READ_BACK_CHUNK ids when a lease was lost, and still answers per record', async () => {
    const claimed = await claimAll();
    const lost = claimed[7]!;
    await store.collection.updateOne(
      { transaction_id: lost.transaction_id },
      { $set: { lease_owner: 'worker-b', lease_token: 'taken-over' } },
    );
    const renewed = await queue.renew('worker-a', claimed.map(leaseOf), 60_000);
    expect(renewed.size).toBe(records - 1);
    expect(renewed.has(lost.transaction_id)).toBe(false);
    expect(Math.max(...idsPerFind())).toBeLessThanOrEqual(READ_BACK_CHUNK);
    expect(idsPerFind().reduce((sum, n) => sum + n, 0)).toBe(records);

    finds.length = 0;
    const finished = await queue.finish(claimed.map(leaseOf));
    expect(finished.size).toBe(records - 1);
    expect(finished.has(lost.transaction_id)).toBe(false);
    expect(Math.max(...idsPerFind())).toBeLessThanOrEqual(READ_BACK_CHUNK);
  });
});
