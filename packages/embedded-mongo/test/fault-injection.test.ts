/**
 * The embedded server's fault injection (failCommand), through the real driver and wire protocol:
 * off unless the launcher flag is given, limited to the named commands and appName, counted, and
 * each kind of fault seen by the driver as real MongoDB's would be.
 */
import { MongoBulkWriteError, MongoClient, MongoNetworkError, MongoServerError } from 'mongodb';
import {
  clearFault,
  injectFault,
  startEmbeddedMongo,
  WRITE_CONCERN_TIMEOUT,
  type EmbeddedMongo,
} from '../src/index';

describe('without --enable-fault-injection', () => {
  let server: EmbeddedMongo;
  beforeAll(async () => {
    server = await startEmbeddedMongo();
  });
  afterAll(() => server.stop());

  it('refuses configureFailPoint like a server without test commands', async () => {
    const client = await MongoClient.connect(server.url);
    try {
      await expect(injectFault(client, { commands: ['insert'], errorCode: 50 })).rejects.toBeInstanceOf(
        MongoServerError,
      );
      await client.db('t').collection('x').insertOne({ a: 1 });
    } finally {
      await client.close();
    }
  });
});

describe('with --enable-fault-injection', () => {
  let server: EmbeddedMongo;
  let control: MongoClient;
  let target: MongoClient;
  let bystander: MongoClient;
  beforeAll(async () => {
    server = await startEmbeddedMongo({ faultInjection: true });
    control = await MongoClient.connect(server.url);
    target = await MongoClient.connect(server.url, { appName: 'target', socketTimeoutMS: 1_500 });
    bystander = await MongoClient.connect(server.url, { appName: 'bystander' });
  });
  afterEach(() => clearFault(control));
  afterAll(async () => {
    await Promise.all([control.close(), target.close(), bystander.close()]);
    await server.stop();
  });
  const coll = (client: MongoClient) => client.db('faults').collection<{ k: number }>('x');

  it('answers the error code, only to the named command, app and number of times', async () => {
    await injectFault(control, { commands: ['find'], appName: 'target', errorCode: 50, times: 2 });
    await coll(bystander).findOne({});
    await coll(target).insertOne({ k: 1 });
    for (let i = 0; i < 2; i++) {
      await expect(coll(target).findOne({})).rejects.toMatchObject({
        code: 50,
        codeName: 'MaxTimeMSExpired',
      });
    }
    await expect(coll(target).findOne({ k: 1 })).resolves.toMatchObject({ k: 1 });
  });

  it('applies the write, then reports the writeConcernError as driver 6 sees it on insertMany', async () => {
    await injectFault(control, {
      commands: ['insert'],
      appName: 'target',
      writeConcernError: WRITE_CONCERN_TIMEOUT,
      times: 1,
    });
    const error: unknown = await coll(target)
      .insertMany([{ k: 10 }, { k: 11 }], { ordered: false })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MongoBulkWriteError);
    const bulk = error as MongoBulkWriteError;
    expect(bulk.code).toBe(64);
    expect(bulk.writeErrors).toEqual([]);
    expect(bulk.result.getWriteConcernError()?.code).toBe(64);
    expect(await coll(bystander).countDocuments({ k: { $in: [10, 11] } })).toBe(2);
  });

  it('delays the reply by the given time', async () => {
    await injectFault(control, { commands: ['find'], appName: 'target', delayMs: 700, times: 1 });
    const started = performance.now();
    await coll(target).findOne({});
    expect(performance.now() - started).toBeGreaterThanOrEqual(650);
  });

  it('withholds the reply until the client gives up (socket timeout), others still answered', async () => {
    await injectFault(control, { commands: ['find'], appName: 'target', delayMs: 60_000 });
    const stalled = coll(target)
      .findOne({})
      .catch((e: unknown) => e);
    await expect(coll(bystander).findOne({})).resolves.toBeDefined();
    expect(await stalled).toBeInstanceOf(MongoNetworkError);
  });

  it('closes the connection instead of answering', async () => {
    // Twice: the driver retries a read once after a network error.
    await injectFault(control, { commands: ['find'], appName: 'target', closeConnection: true, times: 2 });
    await expect(coll(target).findOne({})).rejects.toBeInstanceOf(MongoNetworkError);
  });
});
