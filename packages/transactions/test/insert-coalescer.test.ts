import { MongoClient } from 'mongodb';
import { isTransientDatabaseError } from '@txhook/platform';
import { TransactionStore } from '../src/transaction-store';
import { transactionWebhookSchema } from '../src/schemas';
import { WRITE_CONCERN_TIMEOUT } from '@txhook/embedded-mongo';
import { openFaultableDatabase, sampleWebhook, testDatabaseUrl } from '@txhook/test-kit';

describe('coalesced inserts against a real server', () => {
  let client: MongoClient;
  let repository: TransactionStore;
  const dbName = `test_coalesce_${Date.now()}`;
  let insertCommands = 0;

  beforeAll(async () => {
    client = new MongoClient(testDatabaseUrl(), { monitorCommands: true });
    client.on('commandStarted', (event) => {
      if (event.commandName === 'insert') insertCommands += 1;
    });
    await client.connect();
    repository = new TransactionStore(client.db(dbName));
    await repository.ensureIndexes();
  });
  afterAll(async () => {
    await client.db(dbName).dropDatabase();
    await client.close();
  });

  it('sends webhooks that arrive together as one insert, each told its own outcome', async () => {
    const fresh = Array.from({ length: 40 }, () => transactionWebhookSchema.parse(sampleWebhook()));
    const twice = transactionWebhookSchema.parse(sampleWebhook());
    const changed = { ...twice, amount: '999.00' };
    insertCommands = 0;
    const outcomes = await Promise.all(
      [...fresh, twice, twice, changed].map((webhook) => repository.recordWebhook(webhook)),
    );
    expect(insertCommands).toBe(1);
    expect(outcomes.slice(0, 40).every((o) => o.outcome === 'created')).toBe(true);
    // The same id three times in one batch: the first is stored, the copy is a duplicate, the
    // changed one a conflict.
    expect(outcomes.slice(40).map((o) => o.outcome)).toEqual(['created', 'duplicate', 'conflict']);
    expect(await repository.collection.countDocuments()).toBe(41);
  });

  it('fails every webhook of a batch, as a transient error, when the server cannot take it', async () => {
    const dead = new MongoClient('mongodb://127.0.0.1:1', { serverSelectionTimeoutMS: 200 });
    try {
      const unreachable = new TransactionStore(dead.db('none'));
      const results = await Promise.allSettled(
        Array.from({ length: 5 }, () =>
          unreachable.recordWebhook(transactionWebhookSchema.parse(sampleWebhook())),
        ),
      );
      for (const result of results) {
        expect(result.status).toBe('rejected');
        if (result.status === 'rejected') expect(isTransientDatabaseError(result.reason)).toBe(true);
      }
    } finally {
      await dead.close();
    }
  });
});

describe('a write-concern error on a coalesced batch (real server, injected)', () => {
  it('fails a new id, a redelivery and a changed payload of one insertMany, all as transient', async () => {
    const database = await openFaultableDatabase('coalescewce', { monitorCommands: true });
    try {
      const stored = transactionWebhookSchema.parse(sampleWebhook());
      await database.repository.recordWebhook(stored);
      let inserts = 0;
      database.client.on('commandStarted', (event) => {
        if (event.commandName === 'insert') inserts += 1;
      });
      await database.inject({ commands: ['insert'], writeConcernError: WRITE_CONCERN_TIMEOUT, times: 1 });
      const results = await Promise.allSettled([
        database.repository.recordWebhook(transactionWebhookSchema.parse(sampleWebhook())),
        database.repository.recordWebhook(stored),
        database.repository.recordWebhook({ ...stored, amount: '999.99' }),
      ]);
      expect(inserts).toBe(1);
      for (const result of results) {
        expect(result.status).toBe('rejected');
        if (result.status === 'rejected') expect(isTransientDatabaseError(result.reason)).toBe(true);
      }
    } finally {
      await database.drop();
    }
  });
});
