/** Composition root of the worker process: config -> logger -> database -> worker loop. */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import {
  ConfigError,
  createLogger,
  createMongoClient,
  loadConfig,
  retryUntilDatabaseReady,
  TransactionRepository,
} from '@txhook/shared';
import { simulateExternalCall } from './external-call';
import { TransactionWorker } from './transaction-worker';

async function main(): Promise<void> {
  const config = loadConfig(process.env, { dotenv: true });
  const logger = createLogger('worker', config);
  const client = createMongoClient(config, { maxPoolSize: 20 });
  const repository = new TransactionRepository(client.db(config.MONGODB_DB));
  await retryUntilDatabaseReady(
    () => repository.ensureIndexes(),
    (attempt, error) => logger.warn('database not ready, retrying', { attempt, error: String(error) }),
  );

  const worker = new TransactionWorker(
    repository,
    (_record, signal) => simulateExternalCall(config.PROCESSING_DELAY_MS, signal),
    logger,
    {
      workerId: `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`,
      leaseMs: config.LEASE_MS,
      concurrency: config.WORKER_CONCURRENCY,
      pollIntervalMs: config.POLL_INTERVAL_MS,
    },
  );
  worker.start();

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('worker shutting down', { signal, in_flight: worker.inFlightCount });
    await worker.stop(config.SHUTDOWN_GRACE_MS);
    await client.close();
    process.exit(0);
  };
  process.on('SIGTERM', (signal) => void shutdown(signal));
  process.on('SIGINT', (signal) => void shutdown(signal));
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
});
