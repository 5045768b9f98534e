/**
 * Both apps, started against a database holding an index with the key of one of ours under
 * another name (MongoDB refuses createIndexes with code 85, injected on the embedded server):
 * they stop with exit code 1 and a message naming the index, instead of looping on "not ready".
 */
import { MongoClient } from 'mongodb';
import { injectFault, ServerErrorCode, startEmbeddedMongo, type EmbeddedMongo } from '@txhook/embedded-mongo';
import { type AppProcess, startApp, stopAll } from '@txhook/test-kit';

let database: EmbeddedMongo;
let client: MongoClient;
const processes: AppProcess[] = [];

beforeAll(async () => {
  database = await startEmbeddedMongo({ faultInjection: true });
  client = await MongoClient.connect(database.url);
  await client
    .db('txhook_conflict')
    .collection('transactions')
    .createIndex({ transaction_id: 1 }, { unique: true, name: 'legacy_txid' });
  await injectFault(client, { commands: ['createIndexes'], errorCode: ServerErrorCode.IndexOptionsConflict });
});
afterAll(async () => {
  await stopAll(processes);
  await client.close();
  await database.stop();
});

it.each(['api', 'worker'] as const)('the %s exits 1 naming the conflicting index', async (kind) => {
  const app = startApp(kind, { MONGODB_URL: database.url, MONGODB_DB: 'txhook_conflict', PORT: '0' });
  processes.push(app);
  const exit = await Promise.race([
    app.exited,
    new Promise<'still running'>((resolve) => setTimeout(() => resolve('still running'), 20_000)),
  ]);
  expect(exit).toEqual({ code: 1, signal: null });
  const output = app.rawOutput.join('\n');
  expect(output).toMatch(/"transaction_id_unique".*"legacy_txid"/);
  expect(app.logsWith('database not ready, retrying')).toEqual([]);
});
