import type { Db, MongoClient, MongoClientOptions } from 'mongodb';
import type { MongoSettings } from './config';
import { CLOCK_SYNC_INTERVAL_MS, DatabaseClock } from './database-clock';
import type { Logger } from './logger';
import { connectWithRetry, createMongoClient } from './mongo';

/** What both apps open at start-up: the client, the service's database, and that database's clock. */
export function openDatabase(
  config: MongoSettings,
  overrides: MongoClientOptions = {},
): { client: MongoClient; db: Db; clock: DatabaseClock } {
  const client = createMongoClient(config, overrides);
  const db = client.db(config.MONGODB_DB);
  return { client, db, clock: DatabaseClock.forDatabase(db) };
}

/**
 * The start-up both apps share: wait for the database (retrying with backoff, logging each retry),
 * run `prepare` (their index checks), take the database clock's first sample, then keep it synced.
 * Resolves with the function that stops the periodic sync (for shutdown).
 */
export async function connectAndSyncClock(
  client: MongoClient,
  clock: DatabaseClock,
  logger: Logger,
  prepare: () => Promise<void>,
): Promise<() => void> {
  await connectWithRetry(
    client,
    async () => {
      await prepare();
      await clock.sync();
    },
    (attempt, error) => logger.warn('database not ready, retrying', { attempt, error: String(error) }),
  );
  logger.info('database clock synced', {
    offset_ms: clock.now().getTime() - Date.now(),
    uncertainty_ms: Math.round(clock.uncertaintyMs),
  });
  return clock.keepSynced(CLOCK_SYNC_INTERVAL_MS, (error) =>
    logger.warn('database clock sync failed', { error: String(error) }),
  );
}
