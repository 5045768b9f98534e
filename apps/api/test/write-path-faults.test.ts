/**
 * The API against a real server process that misbehaves on purpose (failCommand fault injection,
 * see packages/test-kit/src/faults.ts): write-concern failures, a duplicate that is not readable, and
 * query time limits. Every answer must be an honest one: 503 + Retry-After when the database could
 * not confirm, never 202/200 for something not durably stored, never a 500.
 */
import { MongoClient, type CommandStartedEvent } from 'mongodb';
import { ServerErrorCode, WRITE_CONCERN_TIMEOUT } from '@txhook/embedded-mongo';
import {
  type FaultableDatabase,
  getJson,
  type HttpResult,
  openFaultableDatabase,
  postWebhook,
  sampleWebhook,
} from '@txhook/test-kit';
import { expectErrorShape, serve, type Served } from './serve';

let database: FaultableDatabase;
let served: Served;
let baseUrl: string;
const started: CommandStartedEvent[] = [];

beforeAll(async () => {
  database = await openFaultableDatabase('writepath', { monitorCommands: true });
  database.client.on('commandStarted', (event) => started.push(event));
  served = await serve(database.client, database.repository);
  baseUrl = served.baseUrl;
});
afterEach(() => database.clear());
afterAll(async () => {
  await served.close();
  await database.drop();
});

function expectUnavailable(response: HttpResult): void {
  expect(response.status).toBe(503);
  expect(response.headers.get('retry-after')).toMatch(/^\d+$/);
  expectErrorShape(response.body, 'unavailable');
}

describe('a write-concern error on the coalesced insert', () => {
  it('answers 503 + Retry-After to a new id, a redelivery and a changed payload alike', async () => {
    const stored = sampleWebhook();
    expect((await postWebhook(baseUrl, stored)).status).toBe(202);

    await database.inject({ commands: ['insert'], writeConcernError: WRITE_CONCERN_TIMEOUT });
    const inserts = started.filter((event) => event.commandName === 'insert').length;
    const responses = await Promise.all([
      postWebhook(baseUrl, sampleWebhook()),
      postWebhook(baseUrl, stored),
      postWebhook(baseUrl, { ...stored, amount: '999.99' }),
    ]);
    // The server really was asked (and answered with the write-concern error), not short-circuited.
    expect(started.filter((event) => event.commandName === 'insert').length).toBeGreaterThan(inserts);
    for (const response of responses) expectUnavailable(response);
  });

  it('lets the sender retry successfully once the write concern is met again', async () => {
    const body = sampleWebhook();
    await database.inject({ commands: ['insert'], writeConcernError: WRITE_CONCERN_TIMEOUT, times: 1 });
    expectUnavailable(await postWebhook(baseUrl, body));
    // The stand-in applied the write before failing the write concern (as a primary does): the
    // retry finds it and is told 200 with the stored record, not a conflict.
    const retry = await postWebhook<{ transaction_id: string }>(baseUrl, body);
    expect([200, 202]).toContain(retry.status);
    expect(retry.body.transaction_id).toBe(body.transaction_id);
  });
});

describe('a redelivery (duplicate key)', () => {
  it('reads the stored record with majority read concern from the primary', async () => {
    const body = sampleWebhook();
    expect((await postWebhook(baseUrl, body)).status).toBe(202);
    const from = started.length;
    expect((await postWebhook(baseUrl, body)).status).toBe(200);
    const read = started.slice(from).find((event) => event.commandName === 'find');
    expect(read?.command.readConcern).toEqual({ level: 'majority' });
  });

  it('answers 503 when the duplicate is not (yet) readable, so the sender retries', async () => {
    const body = sampleWebhook();
    expect((await postWebhook(baseUrl, body)).status).toBe(202);
    const other = await MongoClient.connect(database.url);
    try {
      // Hold back the read of the duplicate and remove the record meanwhile: the insert says
      // "exists", the majority read says "not there" (what a rolled-back write looks like).
      await database.inject({ commands: ['find'], delayMs: 1_000, times: 1 });
      const readStarted = new Promise<void>((resolve) => {
        const onStart = (event: CommandStartedEvent) => {
          if (event.commandName !== 'find') return;
          database.client.off('commandStarted', onStart);
          resolve();
        };
        database.client.on('commandStarted', onStart);
      });
      const redelivery = postWebhook(baseUrl, body);
      await readStarted;
      await other
        .db(database.name)
        .collection('transactions')
        .deleteOne({ transaction_id: body.transaction_id });
      expectUnavailable(await redelivery);
    } finally {
      await other.close();
    }
  });
});

describe('queries past their time limit (maxTimeMS expired, code 50)', () => {
  it('GET /v1/transactions answers 503 + Retry-After in the error shape', async () => {
    await database.inject({ commands: ['find'], errorCode: ServerErrorCode.MaxTimeMSExpired });
    expectUnavailable(await getJson(`${baseUrl}/v1/transactions`));
  });

  it('GET /v1/stats answers 503 + Retry-After in the error shape', async () => {
    await database.inject({
      commands: ['find', 'aggregate'],
      errorCode: ServerErrorCode.MaxTimeMSExpired,
    });
    expectUnavailable(await getJson(`${baseUrl}/v1/stats`));
  });
});
