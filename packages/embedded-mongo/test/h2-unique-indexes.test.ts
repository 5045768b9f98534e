/**
 * H2's unique indexes (InMemoryUniqueIndex in java/EmbeddedMongo.java): kept in memory when our
 * indexes are on (the default), rebuilt from the data file at start-up, and never left behind in
 * the file outdated, so that a start with the plain H2 backend (`secondaryIndexes: false`) rebuilds
 * them instead of trusting them. An outdated unique index lets a duplicate webhook be stored twice.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MongoClient, type Collection, type Db, type Document } from 'mongodb';
import { TRANSACTION_INDEXES } from '@txhook/transactions';
import { startEmbeddedMongo } from '../src/index';

const DB = 'unique';

/** A temporary H2 data file, started and stopped as many times as a test wants. */
async function withH2File(
  task: (run: (secondaryIndexes: boolean, step: (db: Db) => Promise<void>) => Promise<void>) => Promise<void>,
) {
  const dir = mkdtempSync(path.join(tmpdir(), 'txhook-h2-unique-'));
  const h2File = path.join(dir, 'data.mv');
  const run = async (secondaryIndexes: boolean, step: (db: Db) => Promise<void>) => {
    const server = await startEmbeddedMongo({ backend: 'h2', h2File, secondaryIndexes });
    const client = await MongoClient.connect(server.url);
    try {
      await step(client.db(DB));
    } finally {
      await client.close();
      await server.stop();
    }
  };
  try {
    await task(run);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Our records use string ids, so that a test can name a record's _id. */
interface Stored {
  _id?: string;
  [field: string]: unknown;
}

const transactionsOf = (db: Db) => db.collection<Stored>('transactions');

async function indexNames(collection: Collection): Promise<string[]> {
  const listed = (await collection.listIndexes().toArray()) as Document[];
  return listed.map((index) => String(index.name));
}

function webhook(id: number) {
  return {
    _id: `doc-${id}`,
    transaction_id: `tx-${id}`,
    status: 'PROCESSING',
    lease_token: `lease-${id}`,
    created_at: new Date(1_700_000_000_000 + id),
  };
}

async function expectDuplicateRefused(transactions: Collection<Stored>, id: number) {
  await expect(transactions.insertOne({ transaction_id: `tx-${id}` })).rejects.toMatchObject({
    code: 11000,
  });
  await expect(transactions.insertOne({ _id: `doc-${id}` })).rejects.toMatchObject({
    code: 11000,
  });
  // and the unique index still finds the stored record
  expect(await transactions.findOne({ transaction_id: `tx-${id}` })).toMatchObject({ _id: `doc-${id}` });
}

it('H2: _id and unique indexes refuse duplicates, also after a restart (rebuilt from the file)', async () => {
  await withH2File(async (run) => {
    await run(true, async (db) => {
      const transactions = transactionsOf(db);
      await transactions.createIndexes([...TRANSACTION_INDEXES]);
      await transactions.insertMany(Array.from({ length: 500 }, (_, i) => webhook(i)));
      await expectDuplicateRefused(transactions, 7);
      // a compound unique index on its own (the fence's keys, without transaction_id_unique)
      const fenced = db.collection('fenced');
      await fenced.createIndex({ transaction_id: 1, lease_token: 1, status: 1 }, { unique: true });
      await fenced.insertMany([
        { transaction_id: 'tx-1', lease_token: 'a', status: 'PROCESSING' },
        { transaction_id: 'tx-1', lease_token: 'b', status: 'PROCESSING' },
      ]);
      await expect(
        fenced.insertOne({ transaction_id: 'tx-1', lease_token: 'a', status: 'PROCESSING' }),
      ).rejects.toMatchObject({ code: 11000 });
    });
    await run(true, async (db) => {
      const transactions = transactionsOf(db);
      const keys = (await db.command({ validate: 'transactions' })).keysPerIndex as Record<string, number>;
      expect(keys).toMatchObject({
        _id_: 500,
        transaction_id_unique: 500,
        transaction_id_lease_token_status: 500,
      });
      await expectDuplicateRefused(transactions, 7);
      await expectDuplicateRefused(transactions, 499);
      expect(await transactions.countDocuments()).toBe(500);
      await expect(
        db.collection('fenced').insertOne({ transaction_id: 'tx-1', lease_token: 'b', status: 'PROCESSING' }),
      ).rejects.toMatchObject({ code: 11000 });
      await db
        .collection('fenced')
        .insertOne({ transaction_id: 'tx-1', lease_token: 'c', status: 'PROCESSING' });
    });
  });
}, 120_000);

it('H2: a unique index over stored duplicates fails to build and is not kept', async () => {
  await withH2File(async (run) => {
    await run(true, async (db) => {
      const items = db.collection('items');
      await items.insertMany([{ ref: 'a' }, { ref: 'b' }, { ref: 'a' }]);
      await expect(items.createIndex({ ref: 1 }, { unique: true })).rejects.toMatchObject({
        code: 11000,
      });
      expect(await indexNames(items)).toEqual(['_id_']);
      await items.insertOne({ ref: 'b' }); // no index left behind that refuses it
      expect(await items.countDocuments({ ref: 'b' })).toBe(2);
    });
  });
}, 90_000);

it('H2: switching our indexes off and on never uses an outdated unique index from the file', async () => {
  await withH2File(async (run) => {
    // 1. ours (in memory): record 1
    await run(true, async (db) => {
      const transactions = transactionsOf(db);
      await transactions.createIndexes([...TRANSACTION_INDEXES]);
      await transactions.insertOne(webhook(1));
    });
    // 2. the library's (indexes kept in the file): record 2
    await run(false, async (db) => {
      const transactions = transactionsOf(db);
      await expectDuplicateRefused(transactions, 1);
      await transactions.insertOne(webhook(2));
    });
    // 3. ours again: record 3, which the file's index maps of run 2 do not hold
    await run(true, async (db) => {
      const transactions = transactionsOf(db);
      await expectDuplicateRefused(transactions, 1);
      await expectDuplicateRefused(transactions, 2);
      await transactions.insertOne(webhook(3));
    });
    // 4. the library's again: it must rebuild from the documents, not trust run 2's maps
    await run(false, async (db) => {
      const transactions = transactionsOf(db);
      await expectDuplicateRefused(transactions, 3);
      await expectDuplicateRefused(transactions, 1);
      expect(await transactions.countDocuments()).toBe(3);
    });
    // 5. and ours once more
    await run(true, async (db) => {
      const transactions = transactionsOf(db);
      for (const id of [1, 2, 3]) await expectDuplicateRefused(transactions, id);
      expect(await transactions.countDocuments()).toBe(3);
    });
  });
}, 180_000);

it('H2: a fenced update matches exactly one record; a deleted key can be stored again', async () => {
  await withH2File(async (run) => {
    await run(true, async (db) => {
      const transactions = transactionsOf(db);
      await transactions.createIndexes([...TRANSACTION_INDEXES]);
      await transactions.insertMany([webhook(1), webhook(2), { ...webhook(3), lease_token: 'lease-1' }]);
      const fence = { transaction_id: 'tx-1', lease_token: 'lease-1', status: 'PROCESSING' };
      const done = await transactions.updateOne(fence, { $set: { status: 'PROCESSED' } });
      expect(done).toMatchObject({ matchedCount: 1, modifiedCount: 1 });
      // the fence no longer matches: the status is part of the key
      expect(await transactions.updateOne(fence, { $set: { status: 'FAILED' } })).toMatchObject({
        matchedCount: 0,
      });
      expect(await transactions.countDocuments({ status: 'PROCESSED' })).toBe(1);
      expect(await transactions.findOne({ transaction_id: 'tx-3' })).toMatchObject({ status: 'PROCESSING' });
      // an update onto another record's unique key is refused
      await expect(
        transactions.updateOne({ transaction_id: 'tx-2' }, { $set: { transaction_id: 'tx-3' } }),
      ).rejects.toMatchObject({ code: 11000 });

      await transactions.deleteOne({ transaction_id: 'tx-1' });
      await transactions.insertOne(webhook(1)); // the index forgot the deleted record
      expect(await transactions.findOne({ transaction_id: 'tx-1' })).toMatchObject({ status: 'PROCESSING' });
      expect(
        await transactions.updateOne(
          { transaction_id: 'tx-1', lease_token: 'lease-1', status: 'PROCESSING' },
          { $set: { status: 'PROCESSED' } },
        ),
      ).toMatchObject({ matchedCount: 1 });
    });
    await run(true, async (db) => {
      const transactions = transactionsOf(db);
      expect(await transactions.countDocuments()).toBe(3);
      await expectDuplicateRefused(transactions, 1);
      const fence = { transaction_id: 'tx-2', lease_token: 'lease-2', status: 'PROCESSING' };
      expect(await transactions.updateOne(fence, { $set: { status: 'PROCESSED' } })).toMatchObject({
        matchedCount: 1,
      });
    });
  });
}, 120_000);

it('H2: a dropped unique index is gone in both modes (its file map may be absent)', async () => {
  await withH2File(async (run) => {
    await run(false, async (db) => {
      await db.collection('items').createIndex({ ref: 1 }, { unique: true }); // a map in the file
      await db.collection('items').insertOne({ ref: 'a' });
    });
    await run(true, async (db) => {
      const items = db.collection('items');
      await expect(items.insertOne({ ref: 'a' })).rejects.toMatchObject({ code: 11000 });
      await items.dropIndex('ref_1'); // its map was removed at this start
      await items.insertOne({ ref: 'a' });
    });
    for (const secondaryIndexes of [false, true]) {
      await run(secondaryIndexes, async (db) => {
        const items = db.collection('items');
        expect(await indexNames(items)).toEqual(['_id_']);
        expect(await items.countDocuments({ ref: 'a' })).toBe(2);
      });
    }
  });
}, 180_000);
