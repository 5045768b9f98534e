/** Composition root of the worker process: config -> logger -> database -> worker loop. */
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { hostname } from 'node:os';
import {
  connectAndSyncClock,
  createLogger,
  databaseCallDeadlineMs,
  onShutdownSignal,
  openDatabase,
  runMain,
  withCallDeadlines,
} from '@txhook/platform';
import { LeaseQueue, TransactionStore } from '@txhook/transactions';
import { Counter, Registry } from 'prom-client';
import { externalCallTimeoutMs, loadWorkerConfig, shutdownDeadlineMs, shutdownGraceMs } from './config';
import { lowerCpuPriority } from './cpu-priority';
import { crashingOnIdPrefix, seededRandom, simulatedExternalCall } from './external-call';
import { createWorkerMetrics } from './metrics';
import { DEFAULT_METRICS_PORT, listenForMetrics } from './metrics-server';
import { RetentionSweeper } from './retention-sweeper';
import { RetryPolicy } from './retry-policy';
import { TransactionWorker } from './transaction-worker';

async function main(): Promise<void> {
  const config = loadWorkerConfig(process.env, { dotenv: true });
  const logger = createLogger('worker', config);
  lowerCpuPriority(config.WORKER_NICENESS, logger);
  const { client, db, clock } = openDatabase(config, { maxPoolSize: 20 });
  // Lease times come from the database's clock, so workers with skewed clocks still agree.
  const store = new TransactionStore(db, () => clock.now());
  // Every queue call settles in bounded time, whatever the driver does: a claim or completion left
  // hanging would stall the worker for good (see withCallDeadlines).
  const queue = withCallDeadlines(
    new LeaseQueue(db, () => clock.now(), {
      retentionDays: config.RETENTION_DAYS,
      claimMode: config.CLAIM_MODE,
    }),
    databaseCallDeadlineMs(config),
    'LeaseQueue',
  );
  const simulatedCall = simulatedExternalCall({
    delayMs: config.PROCESSING_DELAY_MS,
    failureRate: config.EXTERNAL_CALL_FAILURE_RATE,
    ...(config.EXTERNAL_CALL_FAILURE_SEED === undefined
      ? {}
      : { random: seededRandom(config.EXTERNAL_CALL_FAILURE_SEED) }),
  });
  const externalCall =
    config.FAULT_CRASH_ON_ID_PREFIX === undefined
      ? simulatedCall
      : crashingOnIdPrefix(simulatedCall, config.FAULT_CRASH_ON_ID_PREFIX, () => {
          logger.error('FAULT INJECTION: crashing on purpose (FAULT_CRASH_ON_ID_PREFIX)');
          process.exit(86);
        });
  const callTimeoutMs = externalCallTimeoutMs(config);
  const graceMs = shutdownGraceMs(config);
  const registry = new Registry();
  let metricsServer: Server | undefined;
  const worker: TransactionWorker = new TransactionWorker(queue, externalCall, logger, {
    // Unique per process, so a restarted worker never mistakes an old lease for its own.
    workerId: `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`,
    leaseMs: config.LEASE_MS,
    concurrency: config.WORKER_CONCURRENCY,
    pollIntervalMs: config.POLL_INTERVAL_MS,
    claimBatchSize: config.CLAIM_BATCH_SIZE,
    externalCallTimeoutMs: callTimeoutMs,
    maxClaims: config.MAX_CLAIMS,
    retryPolicy: new RetryPolicy({
      maxAttempts: config.MAX_ATTEMPTS,
      baseDelayMs: config.RETRY_BASE_DELAY_MS,
      maxDelayMs: config.RETRY_MAX_DELAY_MS,
    }),
    observer: createWorkerMetrics(registry, { inFlight: () => worker.inFlightCount }),
  });
  const expired = new Counter({
    name: 'txhook_worker_records_expired_total',
    help: 'Terminal records this worker deleted past their retention (RETENTION_DAYS)',
    registers: [registry],
  });
  // RETENTION_DAYS=0 keeps everything: nothing ever expires, so there is nothing to sweep.
  const sweeper =
    config.RETENTION_DAYS > 0
      ? new RetentionSweeper(store, logger, {
          intervalMs: config.RETENTION_SWEEP_MS,
          onDeleted: (count) => expired.inc(count),
        })
      : undefined;
  // Grace for in-flight calls, then time to release leases and close the pool.
  let stopClockSync: (() => void) | undefined;
  onShutdownSignal(logger, shutdownDeadlineMs(config), async () => {
    stopClockSync?.();
    // Together: claiming stops at once, whatever delete the sweeper is waiting on.
    await Promise.all([worker.stop(graceMs), sweeper?.stop()]);
    await client.close();
    metricsServer?.closeAllConnections();
    metricsServer?.close();
  });

  // Up before the database is, so a worker stuck waiting for it is still visible to Prometheus.
  const metrics = await listenForMetrics(registry, config.WORKER_METRICS_PORT);
  metricsServer = metrics.server;
  if (metrics.fellBack) {
    logger.warn('default metrics port in use (another worker on this host?); using a free port', {
      default_port: DEFAULT_METRICS_PORT,
      port: metrics.port,
    });
  }
  logger.info('metrics listening', { port: metrics.port });

  stopClockSync = await connectAndSyncClock(client, clock, logger, () => store.ensureIndexes());
  worker.start();
  sweeper?.start();
}

runMain(main);
