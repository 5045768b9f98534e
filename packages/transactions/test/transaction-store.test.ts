import { Decimal128 } from 'mongodb';
import { LeaseQueue } from '../src/lease-queue';
import { TransactionStore } from '../src/transaction-store';
import { toTransactionView, TransactionStatus } from '../src/transaction';
import { transactionWebhookSchema } from '../src/schemas';
import { openTestDatabase, sampleWebhook, type TestDatabase } from '@txhook/test-kit';

let database: TestDatabase;
beforeAll(async () => {
  database = await openTestDatabase('repository');
});
afterAll(async () => {
  await database.drop();
});

const webhook = (overrides = {}) => transactionWebhookSchema.parse(sampleWebhook(overrides));

describe('TransactionStore against a real server', () => {
  it('stores a new webhook as PROCESSING with an exact Decimal128 amount', async () => {
    const input = webhook({ amount: '0.30' });
    const result = await database.repository.recordWebhook(input);
    expect(result.outcome).toBe('created');
    const stored = await database.db
      .collection('transactions')
      .findOne({ transaction_id: input.transaction_id });
    expect(stored?.status).toBe(TransactionStatus.PROCESSING);
    expect(stored?.processed_at).toBeNull();
    expect(stored?.amount).toBeInstanceOf(Decimal128);
    expect((stored?.amount as Decimal128).toString()).toBe('0.30');
  });

  it('answers a redelivery with the stored record and writes nothing', async () => {
    const input = webhook();
    const first = await database.repository.recordWebhook(input);
    const second = await database.repository.recordWebhook(input);
    expect(second.outcome).toBe('duplicate');
    expect(second.record.created_at.getTime()).toBe(first.record.created_at.getTime());
    expect(
      await database.repository.collection.countDocuments({ transaction_id: input.transaction_id }),
    ).toBe(1);
  });

  it('reports a conflict when the same id arrives with other content', async () => {
    const input = webhook();
    await database.repository.recordWebhook(input);
    const changed = await database.repository.recordWebhook({ ...input, amount: '999.00' });
    expect(changed.outcome).toBe('conflict');
    const stored = await database.repository.findByTransactionId(input.transaction_id);
    expect(stored?.amount.toString()).toBe(input.amount);
  });

  it('stores exactly one record when 30 identical deliveries race', async () => {
    const input = webhook();
    const outcomes = await Promise.all(
      Array.from({ length: 30 }, () => database.repository.recordWebhook(input)),
    );
    expect(outcomes.filter((o) => o.outcome === 'created')).toHaveLength(1);
    expect(outcomes.filter((o) => o.outcome === 'duplicate')).toHaveLength(29);
    expect(
      await database.repository.collection.countDocuments({ transaction_id: input.transaction_id }),
    ).toBe(1);
  });
});

describe('operator requeue', () => {
  let nowMs = Date.parse('2030-01-01T00:00:00Z');
  const clock = () => new Date(nowMs);
  let repo: TransactionStore;
  let queue: LeaseQueue;

  beforeAll(async () => {
    await database.repository.collection.deleteMany({});
    repo = new TransactionStore(database.db, clock);
    queue = new LeaseQueue(database.db, clock);
  });

  it('requeues a FAILED record without a stale next_attempt_at and records who and when', async () => {
    await repo.collection.deleteMany({});
    const { record } = await repo.recordWebhook(webhook());
    const [claimed] = (await queue.claim('worker-a', 10_000, 1)).claimed;
    expect(await queue.fail(claimed!, 'card network down')).toBe(true);
    nowMs += 60_000;
    expect(await repo.requeueFailed(record.transaction_id, 'alice')).toBe(true);
    const requeued = await repo.findByTransactionId(record.transaction_id);
    const view = toTransactionView(requeued!);
    expect(view.status).toBe(TransactionStatus.PROCESSING);
    // Due at once for its first new attempt, not "waiting for a retry".
    expect(view.next_attempt_at).toBeNull();
    expect(view.last_error).toBeNull();
    expect(view.attempts).toBe(0);
    expect(requeued?.requeued_by).toBe('alice');
    expect(requeued?.requeued_at?.getTime()).toBe(nowMs);
    expect(requeued?.due_at.getTime()).toBe(nowMs);
    // Idempotent: a second requeue changes nothing, the audit fields stay those of the first.
    nowMs += 1_000;
    expect(await repo.requeueFailed(record.transaction_id, 'bob')).toBe(false);
    expect((await repo.findByTransactionId(record.transaction_id))?.requeued_by).toBe('alice');
  });
});
