/**
 * The warm-up before the API listens (warm-up.ts): a second app from the same code, posted to on
 * a loopback port, that must leave nothing behind and never hold the start for long. That a
 * fresh API then acknowledges its first burst in time: tests/e2e/cold-start.test.ts.
 */
import { Writable } from 'node:stream';
import type { Express } from 'express';
import { MongoClient } from 'mongodb';
import { Registry } from 'prom-client';
import { createLogger } from '@txhook/platform';
import { freePort, openTestDatabase, type TestDatabase } from '@txhook/test-kit';
import { createApp, type AppDependencies } from '../src/app';
import { nowhere, warmUpRequestPath, WarmUpStore } from '../src/warm-up';

const SENDER_SECRET = 'a-sender-secret-of-more-than-16-characters';
const logSettings = { LOG_LEVEL: 'info', LOG_FORMAT: 'json', NODE_ENV: 'test' } as const;

let database: TestDatabase;
beforeAll(async () => {
  database = await openTestDatabase('warm_up');
});
afterAll(() => database.drop());

/** The real app's collaborators, with its log lines kept to look at. */
function realDependencies(): { deps: AppDependencies; logLines: string[]; registry: Registry } {
  const logLines: string[] = [];
  const stream = new Writable({
    write: (chunk: Buffer, _encoding, done) => {
      logLines.push(chunk.toString());
      done();
    },
  });
  const registry = new Registry();
  const deps: AppDependencies = {
    client: database.client,
    repository: database.repository,
    logger: createLogger('api', logSettings, { stream }),
    bodyLimitBytes: 16_384,
    registry,
    signature: { secrets: [SENDER_SECRET], toleranceSeconds: 300 },
    rateLimitPerMinute: 1,
  };
  return { deps, logLines, registry };
}

const silentLogger = () => createLogger('api', logSettings, { stream: nowhere() });

it('posts through an app of its own, signed with its own secret, and stores, counts and logs nothing', async () => {
  const { deps, logLines, registry } = realDependencies();
  const built: AppDependencies[] = [];
  const recordingCreateApp = (appDeps: AppDependencies): Express => {
    built.push(appDeps);
    return createApp(appDeps);
  };
  const result = await warmUpRequestPath(recordingCreateApp, deps, {
    store: new WarmUpStore(database.db),
    logger: silentLogger(),
    requests: 300,
    connections: 8,
  });

  // Every one answered as a new webhook: past the signature check and a limit of 1 a minute.
  expect(result).toEqual({ requests: 300, accepted: 300, ms: expect.any(Number) });
  expect(built).toHaveLength(1);
  const [warmUpApp] = built;
  expect(warmUpApp!.signature?.secrets).toHaveLength(1);
  expect(warmUpApp!.signature?.secrets).not.toContain(SENDER_SECRET);
  expect(warmUpApp!.rateLimitPerMinute).toBe(Number.MAX_SAFE_INTEGER);
  expect(warmUpApp!.registry).not.toBe(registry);
  expect(warmUpApp!.logger).not.toBe(deps.logger);

  expect(await database.repository.collection.countDocuments()).toBe(0);
  expect(await registry.getMetricsAsJSON()).toEqual([]);
  expect(logLines).toEqual([]);
});

it('stops at the first answer that is not an acknowledgement, so a database down costs no wait', async () => {
  const { deps } = realDependencies();
  // Nothing listens there: each read fails once server selection gives up.
  const unreachable = new MongoClient(`mongodb://127.0.0.1:${await freePort()}`, {
    serverSelectionTimeoutMS: 200,
  });
  try {
    const result = await warmUpRequestPath(createApp, deps, {
      store: new WarmUpStore(unreachable.db(database.name)),
      logger: silentLogger(),
      requests: 1_000,
      connections: 4,
    });
    expect(result.accepted).toBe(0);
    expect(result.requests).toBeLessThanOrEqual(4);
    expect(result.stopped).toMatch(/^on an answer 5\d\d$/);
    expect(result.ms).toBeLessThan(5_000);
  } finally {
    await unreachable.close();
  }
});

it('stops when its time budget is spent, whatever is left to post', async () => {
  const { deps } = realDependencies();
  const result = await warmUpRequestPath(createApp, deps, {
    store: new WarmUpStore(database.db),
    logger: silentLogger(),
    requests: 1_000_000,
    connections: 4,
    budgetMs: 300,
  });
  expect(result.stopped).toBe('after 300 ms');
  expect(result.requests).toBeLessThan(1_000_000);
  // Only those still in flight when the time ran out went unanswered.
  expect(result.accepted).toBeGreaterThan(0);
  expect(result.accepted).toBeGreaterThanOrEqual(result.requests - 4);
});
