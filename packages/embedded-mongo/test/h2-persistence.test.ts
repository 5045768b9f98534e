/** The H2 backend with a data file (what `npm start` uses) keeps records across a restart. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Decimal128, MongoClient } from 'mongodb';
import { startEmbeddedMongo } from '../src/index';

it('a record written before a restart is there after it, indexes included', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'txhook-h2-'));
  const h2File = path.join(dir, 'data.mv');
  try {
    const first = await startEmbeddedMongo({ backend: 'h2', h2File });
    let client = await MongoClient.connect(first.url);
    const before = client.db('persist').collection('transactions');
    await before.createIndex({ transaction_id: 1 }, { unique: true });
    await before.insertOne({ transaction_id: 'kept', amount: Decimal128.fromString('10.50') });
    await client.close();
    await first.stop();

    const second = await startEmbeddedMongo({ backend: 'h2', h2File });
    client = await MongoClient.connect(second.url);
    const after = client.db('persist').collection('transactions');
    const found = await after.findOne({ transaction_id: 'kept' });
    expect(found?.amount).toEqual(Decimal128.fromString('10.50'));
    await expect(after.insertOne({ transaction_id: 'kept' })).rejects.toMatchObject({ code: 11000 });
    await client.close();
    await second.stop();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 90_000);
