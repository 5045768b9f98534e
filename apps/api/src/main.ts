/** Composition root of the API process: config -> logger -> database -> app -> HTTP server. */
import type { AddressInfo } from 'node:net';
import {
  ConfigError,
  createLogger,
  createMongoClient,
  loadConfig,
  retryUntilDatabaseReady,
  TransactionRepository,
} from '@txhook/shared';
import { createApp } from './app';
import { closeGracefully, listen } from './server';

async function main(): Promise<void> {
  const config = loadConfig(process.env, { dotenv: true });
  const logger = createLogger('api', config);
  const client = createMongoClient(config);
  const repository = new TransactionRepository(client.db(config.MONGODB_DB));

  await retryUntilDatabaseReady(
    () => repository.ensureIndexes(),
    (attempt, error) => logger.warn('database not ready, retrying', { attempt, error: String(error) }),
  );
  const app = createApp({ client, repository, logger, bodyLimitBytes: config.BODY_LIMIT_BYTES });
  const server = await listen(app, config.PORT);
  const { port } = server.address() as AddressInfo;
  logger.info('api listening', { port, database: config.MONGODB_DB });

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('api shutting down', { signal });
    await closeGracefully(server, config.SHUTDOWN_GRACE_MS);
    await client.close();
    logger.info('api stopped');
    process.exit(0);
  };
  process.on('SIGTERM', (signal) => void shutdown(signal));
  process.on('SIGINT', (signal) => void shutdown(signal));
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
});
