/**
 * Unique indexes of the launcher under updates. The launcher skips an index's work when an update
 * leaves the index's fields alone (the worker's lease renewals and call counts touch none of the
 * unique keys); these tests hold that shortcut to the library's answers: an update that leaves the
 * keys keeps them taken and findable, one that moves a key frees the old one, one onto a taken key
 * is refused and changes nothing; an index over stored duplicates is refused whole. A unique
 * index that went wrong here would store a webhook twice.
 */
import { Double, MongoClient, MongoServerError, type Collection } from 'mongodb';
import { startEmbeddedMongo, type EmbeddedBackend, type EmbeddedMongo } from '../src/index';

const BACKENDS: EmbeddedBackend[] = ['memory', 'h2'];

interface Row {
  _id: number;
  transaction_id: string | number;
  lease_token?: string;
  status?: string;
  calls?: number;
  due_at?: Date;
}

describe.each(BACKENDS)('unique indexes under updates, %s backend', (backend) => {
  let server: EmbeddedMongo;
  let client: MongoClient;
  let rows: Collection<Row>;

  beforeAll(async () => {
    server = await startEmbeddedMongo({ backend });
    client = await MongoClient.connect(server.url);
    rows = client.db('unique_updates').collection<Row>('rows');
  });
  beforeEach(async () => {
    await rows.drop().catch(() => undefined);
    await rows.createIndexes([
      { key: { transaction_id: 1 }, name: 'transaction_id_unique', unique: true },
      { key: { transaction_id: 1, lease_token: 1, status: 1 }, name: 'fence', unique: true },
    ]);
  });
  afterAll(async () => {
    await client.close();
    await server.stop();
  });

  const duplicate = expect.objectContaining({ code: 11000 }) as unknown;

  it('keeps the keys of a record taken and findable through updates of its other fields', async () => {
    await rows.insertOne({ _id: 1, transaction_id: 'a', lease_token: 't1', status: 'PROCESSING', calls: 0 });
    for (let i = 0; i < 3; i++)
      await rows.updateOne({ _id: 1 }, { $inc: { calls: 1 }, $set: { due_at: new Date(Date.now() + i) } });

    expect(await rows.find({ transaction_id: 'a' }).toArray()).toEqual([
      expect.objectContaining({ _id: 1, calls: 3 }),
    ]);
    expect(await rows.countDocuments({ transaction_id: 'a', lease_token: 't1', status: 'PROCESSING' })).toBe(
      1,
    );
    await expect(rows.insertOne({ _id: 2, transaction_id: 'a' })).rejects.toEqual(duplicate);
    await expect(
      rows.insertOne({ _id: 3, transaction_id: 'a', lease_token: 't1', status: 'PROCESSING' }),
    ).rejects.toEqual(duplicate);
  });

  it('frees the old key and takes the new one when an update moves a key', async () => {
    await rows.insertOne({ _id: 1, transaction_id: 'a', lease_token: 't1', status: 'PROCESSING' });
    await rows.updateOne({ _id: 1 }, { $set: { transaction_id: 'b', lease_token: 't2' } });

    expect(await rows.countDocuments({ transaction_id: 'a' })).toBe(0);
    expect(await rows.countDocuments({ transaction_id: 'a', lease_token: 't1', status: 'PROCESSING' })).toBe(
      0,
    );
    expect(await rows.countDocuments({ transaction_id: 'b', lease_token: 't2', status: 'PROCESSING' })).toBe(
      1,
    );
    await rows.insertOne({ _id: 2, transaction_id: 'a', lease_token: 't1', status: 'PROCESSING' });
    await expect(rows.insertOne({ _id: 3, transaction_id: 'b' })).rejects.toEqual(duplicate);
  });

  it('refuses an update onto a taken key and leaves both records as they were', async () => {
    await rows.insertMany([
      { _id: 1, transaction_id: 'a', calls: 0 },
      { _id: 2, transaction_id: 'b', calls: 0 },
    ]);
    await expect(
      rows.updateOne({ _id: 2 }, { $set: { transaction_id: 'a', calls: 1 } }),
    ).rejects.toBeInstanceOf(MongoServerError);

    expect(await rows.find({}, { sort: { _id: 1 } }).toArray()).toEqual([
      { _id: 1, transaction_id: 'a', calls: 0 },
      { _id: 2, transaction_id: 'b', calls: 0 },
    ]);
    expect(await rows.countDocuments({ transaction_id: 'b' })).toBe(1);
  });

  it('refuses to build a unique index over stored duplicates, and keeps none of it', async () => {
    const items = client.db('unique_updates').collection('items');
    await items.drop().catch(() => undefined);
    await items.insertMany([{ ref: 'a' }, { ref: 'b' }, { ref: 'a' }]);
    await expect(items.createIndex({ ref: 1 }, { unique: true })).rejects.toMatchObject({ code: 11000 });

    expect((await items.listIndexes().toArray()).map((index: { name?: string }) => index.name)).toEqual([
      '_id_',
    ]);
    await items.insertOne({ ref: 'b' });
    expect(await items.countDocuments({ ref: 'b' })).toBe(2);
  });

  it('treats a number key written another way (1 and 1.0) as the same key', async () => {
    await rows.insertOne({ _id: 1, transaction_id: 1 });
    await rows.updateOne({ _id: 1 }, { $set: { transaction_id: new Double(1) as unknown as number } });

    await expect(rows.insertOne({ _id: 2, transaction_id: 1 })).rejects.toEqual(duplicate);
    expect(await rows.countDocuments({ transaction_id: 1 })).toBe(1);
  });
});
