import { ObjectId } from 'mongodb';
import { percentile } from '@txhook/platform';
import { TRANSACTION_INDEXES } from '../src/transaction-store';
import { newTransactionDocument, TransactionStatus, type TransactionDocument } from '../src/transaction';
import { TransactionQueries } from '../src/transaction-queries';
import { openTestDatabase, type TestDatabase } from '@txhook/test-kit';

let database: TestDatabase;
beforeAll(async () => {
  database = await openTestDatabase('queries');
});
afterEach(async () => {
  await database.repository.collection.deleteMany({});
});
afterAll(async () => {
  await database.drop();
});

const NOW = new Date('2026-11-25T12:00:00.000Z');
const at = (secondsAgo: number) => new Date(NOW.getTime() - secondsAgo * 1000);

/** A stored record with chosen times, written straight to the collection. */
function doc(id: string, overrides: Partial<TransactionDocument> = {}): TransactionDocument {
  const webhook = {
    transaction_id: id,
    source_account: 'a',
    destination_account: 'b',
    amount: '1.00',
    currency: 'USD',
  };
  return { ...newTransactionDocument(webhook, overrides.created_at ?? NOW), ...overrides };
}

describe('percentile', () => {
  it('is the nearest-rank value of an unsorted sample, null when empty', () => {
    const values = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6];
    expect(percentile(values, 50)).toBe(5);
    expect(percentile(values, 90)).toBe(9);
    expect(percentile(values, 99)).toBe(10);
    expect(percentile(values, 0)).toBe(1);
    expect(percentile([], 50)).toBeNull();
  });
});

describe('TransactionQueries.listPage against a real server', () => {
  it('pages newest first with _id breaking ties, no gaps or repeats, and filters by status', async () => {
    // 25 records over 8 distinct timestamps, so many share created_at.
    const docs = Array.from({ length: 25 }, (_, i) =>
      doc(`list-${String(i).padStart(2, '0')}`, {
        created_at: at(i % 8),
        status: i % 3 === 0 ? TransactionStatus.PROCESSED : TransactionStatus.PROCESSING,
      }),
    );
    await database.repository.collection.insertMany(docs.map((d) => ({ ...d, _id: new ObjectId() })));
    const queries = new TransactionQueries(database.db);

    const seen: { created_at: Date; _id: ObjectId; transaction_id: string }[] = [];
    let after: Parameters<TransactionQueries['listPage']>[0]['after'];
    const pageSizes: number[] = [];
    for (;;) {
      const page = await queries.listPage({ limit: 10, after });
      pageSizes.push(page.records.length);
      seen.push(...page.records);
      if (!page.next) break;
      after = page.next;
    }
    expect(pageSizes).toEqual([10, 10, 5]);
    expect(new Set(seen.map((r) => r.transaction_id)).size).toBe(25);
    const expected = [...seen].sort(
      (a, b) =>
        b.created_at.getTime() - a.created_at.getTime() ||
        b._id.toHexString().localeCompare(a._id.toHexString()),
    );
    expect(seen.map((r) => r.transaction_id)).toEqual(expected.map((r) => r.transaction_id));

    const processed = await queries.listPage({ status: TransactionStatus.PROCESSED, limit: 200 });
    expect(processed.records.map((r) => r.transaction_id).sort()).toEqual(
      docs.filter((d) => d.status === TransactionStatus.PROCESSED).map((d) => d.transaction_id),
    );
    expect(processed.next).toBeNull();
  });
});

describe('TransactionQueries.stats against a real server', () => {
  it('counts by status, measures the due backlog, lag percentiles and the last minute', async () => {
    const collection = database.repository.collection;
    await collection.insertMany([
      // Due: waiting 30 s and 5 s; leased (due in the future): not in the backlog.
      doc('due-old', { created_at: at(40), due_at: at(30) }),
      doc('due-new', { created_at: at(5), due_at: at(5) }),
      doc('leased', { created_at: at(2), due_at: new Date(NOW.getTime() + 20_000), lease_token: 't' }),
      // Processed within the last minute with lags 1..4 s, and one 10 min ago (outside 5 min window).
      ...[1, 2, 3, 4].map((lag, i) =>
        doc(`done-${i}`, {
          status: TransactionStatus.PROCESSED,
          created_at: at(10 + lag),
          processed_at: at(10),
        }),
      ),
      doc('done-old', { status: TransactionStatus.PROCESSED, created_at: at(700), processed_at: at(600) }),
      doc('failed', { status: TransactionStatus.FAILED, created_at: at(120), failed_at: at(90) }),
    ]);
    const stats = await new TransactionQueries(database.db, {}, () => NOW).stats();
    expect(stats.counts).toEqual({ PROCESSING: 3, PROCESSED: 5, FAILED: 1 });
    expect(stats.due).toBe(2);
    expect(stats.oldest_due_age_seconds).toBe(30);
    expect(stats.processing_lag_seconds).toMatchObject({ p50: 2, p99: 4, max: 4, sample_size: 4 });
    // Created in the last 60 s: due-old (40 s), due-new, leased, done-0..3 (11-14 s ago).
    expect(stats.throughput).toEqual({ processed_last_60s: 4, received_last_60s: 7 });
    expect(stats.generated_at).toBe(NOW.toISOString());
  });

  it('counts with the count command, never an aggregation (the embedded server scans every record for one)', async () => {
    const monitored = await openTestDatabase('queries_commands', { monitorCommands: true });
    try {
      const commands: string[] = [];
      monitored.client.on('commandStarted', (event) => commands.push(event.commandName));
      await monitored.repository.collection.insertOne(doc('counted', { status: TransactionStatus.FAILED }));
      const queries = new TransactionQueries(monitored.db, {}, () => NOW);
      commands.length = 0;
      const stats = await queries.stats();
      await queries.queueSnapshot();
      expect(stats.counts.FAILED).toBe(1);
      expect(commands).toContain('count');
      expect(commands).not.toContain('aggregate');
    } finally {
      await monitored.drop();
    }
  });

  it('counts PROCESSED as the stored total minus the open statuses, never by walking the finished history', async () => {
    // PROCESSED grows with every transaction ever stored: counting it walked 500,000 index entries
    // (12.6 s on H2) on every stats read and metrics scrape. The open statuses stay small.
    const monitored = await openTestDatabase('queries_processed_count', { monitorCommands: true });
    try {
      const counted: unknown[] = [];
      monitored.client.on('commandStarted', (event) => {
        if (event.commandName === 'count') counted.push(event.command['query']);
      });
      const statuses = [
        ...Array.from({ length: 5 }, () => TransactionStatus.PROCESSED),
        ...Array.from({ length: 3 }, () => TransactionStatus.PROCESSING),
        ...Array.from({ length: 2 }, () => TransactionStatus.FAILED),
      ];
      await monitored.repository.collection.insertMany(
        statuses.map((status, i) => ({ ...doc(`history-${i}`, { status }), _id: new ObjectId() })),
      );
      const queries = new TransactionQueries(monitored.db, {}, () => NOW);
      const snapshot = await queries.queueSnapshot();
      expect(snapshot.counts).toEqual({ PROCESSED: 5, PROCESSING: 3, FAILED: 2 });
      expect(counted.length).toBeGreaterThan(0);
      expect(counted).not.toContainEqual({ status: TransactionStatus.PROCESSED });
    } finally {
      await monitored.drop();
    }
  });

  it('reports an empty queue as zeros and null percentiles', async () => {
    const stats = await new TransactionQueries(database.db).stats();
    expect(stats.counts).toEqual({ PROCESSING: 0, PROCESSED: 0, FAILED: 0 });
    expect(stats.oldest_due_age_seconds).toBe(0);
    expect(stats.processing_lag_seconds).toMatchObject({ p50: null, p99: null, sample_size: 0 });
  });
});

describe('required indexes', () => {
  it('are all created by ensureIndexes, and a dropped one is reported missing', async () => {
    expect(await database.repository.missingIndexes()).toEqual([]);
    const indexes = (await database.repository.collection.listIndexes().toArray()) as { name: string }[];
    const names = indexes.map((index) => index.name);
    for (const index of TRANSACTION_INDEXES) expect(names).toContain(index.name);
    await database.repository.collection.dropIndex('status_created_at_id');
    expect(await database.repository.missingIndexes()).toEqual(['status_created_at_id']);
    await database.repository.ensureIndexes();
    expect(await database.repository.missingIndexes()).toEqual([]);
  });
});
