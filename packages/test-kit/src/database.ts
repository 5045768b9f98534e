import { randomBytes } from 'node:crypto';
import { MongoClient, type Db, type MongoClientOptions } from 'mongodb';
import { TransactionStore } from '@txhook/transactions';

export interface TestDatabase {
  url: string;
  name: string;
  client: MongoClient;
  db: Db;
  repository: TransactionStore;
  drop(): Promise<void>;
}

export function testDatabaseUrl(): string {
  const url = process.env.MONGODB_URL;
  if (!url) throw new Error('MONGODB_URL is not set: the Jest global setup should have set it');
  return url;
}

/** A database of its own for one test file, on the real server, dropped at the end. */
export async function openTestDatabase(
  label: string,
  clientOptions: MongoClientOptions = {},
): Promise<TestDatabase> {
  const url = testDatabaseUrl();
  const name = `test_${label}_${randomBytes(4).toString('hex')}`;
  const client = await MongoClient.connect(url, { serverSelectionTimeoutMS: 10_000, ...clientOptions });
  const db = client.db(name);
  const repository = new TransactionStore(db);
  await repository.ensureIndexes();
  return {
    url,
    name,
    client,
    db,
    repository,
    async drop() {
      await db.dropDatabase().catch(() => undefined);
      await client.close();
    },
  };
}
