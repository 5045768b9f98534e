/**
 * The claim primitive (issue 13): in `single` mode the worker claims each record with one atomic
 * findOneAndUpdate (several in flight to fill its free slots); `batch` mode keeps the find ids +
 * updateMany + read-back claim. Watched through the driver's command monitoring on the real server.
 */
import type { CommandStartedEvent } from 'mongodb';
import {
  CLAIM_MODES,
  LeaseQueue,
  TransactionStatus,
  transactionWebhookSchema,
  type ClaimMode,
} from '@txhook/transactions';
import { createLogger } from '@txhook/platform';
import { abortableDelay } from '../src/external-call';
import { RetryPolicy } from '../src/retry-policy';
import { TransactionWorker, type ExternalCall } from '../src/transaction-worker';
import { openTestDatabase, sampleWebhook, waitFor, type TestDatabase } from '@txhook/test-kit';

const logger = createLogger('worker-test', { LOG_LEVEL: 'error', LOG_FORMAT: 'json', NODE_ENV: 'test' });

let database: TestDatabase;
const commands: CommandStartedEvent[] = [];
const workers: TransactionWorker[] = [];

beforeAll(async () => {
  database = await openTestDatabase('claim_modes', { monitorCommands: true });
  database.client.on('commandStarted', (event) => commands.push(event));
});
afterEach(async () => {
  await Promise.all(workers.splice(0).map((worker) => worker.stop(0)));
  await database.repository.collection.deleteMany({});
  commands.length = 0;
});
afterAll(async () => {
  await database.drop();
});

const called: ExternalCall = (_record, signal) => abortableDelay(20, signal);

function startWorker(claimMode: ClaimMode) {
  const worker = new TransactionWorker(
    new LeaseQueue(database.db, undefined, { claimMode }),
    called,
    logger,
    {
      workerId: `claim-mode-${claimMode}`,
      leaseMs: 5_000,
      concurrency: 100,
      pollIntervalMs: 50,
      claimBatchSize: 50,
      retryPolicy: new RetryPolicy({ maxAttempts: 3, baseDelayMs: 50, maxDelayMs: 100 }),
    },
  );
  workers.push(worker);
  worker.start();
  return worker;
}

const claimCommands = () =>
  commands.filter(
    (event) =>
      (event.commandName === 'findAndModify' || event.commandName === 'update') &&
      // A claim is the one write that counts a claim.
      JSON.stringify(event.command).includes('"claims":1'),
  );

describe.each(CLAIM_MODES)('claim mode %s', (claimMode) => {
  it('claims every due record exactly once, with the mode’s primitive', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) {
      const { record } = await database.repository.recordWebhook(
        transactionWebhookSchema.parse(sampleWebhook()),
      );
      ids.push(record.transaction_id);
    }
    commands.length = 0;
    startWorker(claimMode);
    await waitFor(
      'all PROCESSED',
      async () =>
        (await database.repository.collection.countDocuments({ status: TransactionStatus.PROCESSED })) ===
        ids.length
          ? true
          : undefined,
      15_000,
    );
    const records = await database.repository.collection.find().toArray();
    for (const record of records) expect(record).toMatchObject({ claims: 1, calls: 1 });
    const claims = claimCommands();
    if (claimMode === 'single') {
      // One findAndModify per record (plus the empty polls after), never a multi-document stamp.
      expect(claims.every((event) => event.commandName === 'findAndModify')).toBe(true);
      expect(claims.length).toBeGreaterThanOrEqual(ids.length);
    } else {
      expect(claims.some((event) => event.commandName === 'findAndModify')).toBe(false);
      expect(claims.filter((event) => event.commandName === 'update').length).toBeGreaterThanOrEqual(1);
    }
  });
});
