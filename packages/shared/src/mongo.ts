import { MongoClient, type MongoClientOptions } from 'mongodb';
import type { AppConfig } from './config';

/**
 * One client per process. Writes wait for a majority and the journal, so an acknowledged
 * record survives a primary failover; server selection fails fast so callers can answer 503.
 */
export function createMongoClient(
  config: Pick<AppConfig, 'MONGODB_URL'>,
  overrides: MongoClientOptions = {},
): MongoClient {
  return new MongoClient(config.MONGODB_URL, {
    appName: 'txhook',
    serverSelectionTimeoutMS: 5_000,
    connectTimeoutMS: 5_000,
    maxPoolSize: 50,
    writeConcern: { w: 'majority', journal: true },
    retryWrites: true,
    ...overrides,
  });
}

/** Resolves when the server answers a ping within `timeoutMs`, rejects otherwise. */
export async function pingDatabase(client: MongoClient, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`database ping timed out after ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([client.db('admin').command({ ping: 1 }), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Connects, retrying with backoff until the server answers, then runs `prepare` (index creation).
 * The database may come up after us (compose, restarts, outages): wait instead of crash-looping.
 * connect() is called on every attempt because a client whose first connect failed stays closed.
 */
export async function connectWithRetry(
  client: MongoClient,
  prepare: () => Promise<void>,
  onRetry: (attempt: number, error: unknown) => void,
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await client.connect();
      await prepare();
      return;
    } catch (error) {
      onRetry(attempt, error);
      await new Promise((resolve) => setTimeout(resolve, Math.min(5_000, 250 * 2 ** attempt)));
    }
  }
}
