import { setTimeout as delay } from 'node:timers/promises';
import { ServerErrorCode } from '@txhook/embedded-mongo';
import { connectWithRetry, DatabaseSetupError } from '@txhook/platform';
import { type FaultableDatabase, openFaultableDatabase } from '@txhook/test-kit';

/**
 * An index with the key of one of ours under another name (left by an operator or an older
 * version) makes MongoDB refuse createIndexes with code 85 (IndexOptionsConflict) or 86
 * (IndexKeySpecsConflict). The embedded server accepts such duplicates, so the refusal is
 * injected; the conflicting index itself is real.
 */
let database: FaultableDatabase;
beforeAll(async () => {
  database = await openFaultableDatabase('indexconflict');
  const transactions = database.db.collection('transactions');
  await transactions.dropIndex('transaction_id_unique');
  await transactions.createIndex({ transaction_id: 1 }, { unique: true, name: 'legacy_txid' });
});
afterEach(() => database.clear());
afterAll(() => database.drop());

describe.each([ServerErrorCode.IndexOptionsConflict, ServerErrorCode.IndexKeySpecsConflict])(
  'createIndexes refused with code %i',
  (code) => {
    it('ensureIndexes fails with a message naming our index and the one in the way', async () => {
      await database.inject({ commands: ['createIndexes'], errorCode: code });
      const failure = database.repository.ensureIndexes();
      await expect(failure).rejects.toBeInstanceOf(DatabaseSetupError);
      await expect(failure).rejects.toThrow(/"transaction_id_unique".*"legacy_txid"/);
    });

    it('connectWithRetry stops at once instead of retrying forever', async () => {
      await database.inject({ commands: ['createIndexes'], errorCode: code });
      const retries: unknown[] = [];
      const outcome = await Promise.race([
        connectWithRetry(
          database.client,
          () => database.repository.ensureIndexes(),
          (_attempt, error) => retries.push(error),
        ).then(
          () => 'connected',
          (error: unknown) => error,
        ),
        delay(5_000, 'still retrying'),
      ]);
      expect(outcome).toBeInstanceOf(DatabaseSetupError);
      expect(retries).toEqual([]);
    });
  },
);
