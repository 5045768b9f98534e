/** Composition root of the API process: config -> logger -> database -> app -> HTTP server. */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import {
  connectAndSyncClock,
  createLogger,
  databaseCallDeadlineMs,
  onShutdownSignal,
  openDatabase,
  runMain,
  withCallDeadlines,
} from '@txhook/platform';
import { TransactionQueries, TransactionStore } from '@txhook/transactions';
import { Registry } from 'prom-client';
import { createApp, type AppDependencies } from './app';
import { loadApiConfig, shutdownDeadlineMs, shutdownGraceMs } from './config';
import { Drain } from './drain';
import { OperatorAuth } from './operator-auth';
import { currentLogContext } from './request-context';
import { closeGracefully, DEFAULT_NEW_CONNECTION_HOLD, listen } from './server';
import { securityPosture } from './startup-policy';
import { nowhere, WARM_UP_CONNECTIONS, warmUpRequestPath, WarmUpStore } from './warm-up';

async function main(): Promise<void> {
  const config = loadApiConfig(process.env, { dotenv: true });
  // Before any connection: production without secrets or keys stops here, naming the variable.
  const posture = securityPosture(config);
  // Lines logged while a request is handled carry its request_id (and transaction_id).
  const logger = createLogger('api', config, { context: currentLogContext });
  const { client, db, clock } = openDatabase(config);
  // A new record's created_at and first due time, requeues and expiries use the database's clock,
  // as the workers' leases do: an API host whose clock is ahead would otherwise delay new work.
  const store = new TransactionStore(db, () => clock.now());
  // What requests call settles in bounded time, whatever the driver does: a webhook past it is
  // answered 503 (see withCallDeadlines). Index creation at start-up stays unbounded: on a large
  // collection it may rightly take longer than that.
  const callDeadlineMs = databaseCallDeadlineMs(config);
  const repository = withCallDeadlines(store, callDeadlineMs, 'TransactionStore');
  let stopClockSync: (() => void) | undefined;
  let server: Server | undefined;
  const drain = new Drain();

  const graceMs = shutdownGraceMs(config);
  onShutdownSignal(logger, shutdownDeadlineMs(config), async () => {
    // Not ready first, closing connections from now on; stop listening once the load balancer knows.
    drain.start();
    if (server) {
      await delay(config.SHUTDOWN_DRAIN_DELAY_MS);
      await closeGracefully(server, graceMs);
    }
    stopClockSync?.();
    await client.close();
    logger.info('api stopped');
  });

  stopClockSync = await connectAndSyncClock(client, clock, logger, () => store.ensureIndexes());
  for (const warning of posture.warnings)
    logger[config.NODE_ENV === 'production' ? 'error' : 'warn'](warning);
  const appDependencies: AppDependencies = {
    client,
    repository,
    logger,
    bodyLimitBytes: config.BODY_LIMIT_BYTES,
    signature:
      config.WEBHOOK_SECRET || config.WEBHOOK_SOURCES
        ? {
            secrets: config.WEBHOOK_SECRET,
            sources: config.WEBHOOK_SOURCES,
            toleranceSeconds: config.WEBHOOK_TOLERANCE_SECONDS,
          }
        : undefined,
    auth: new OperatorAuth(config.OPERATOR_KEYS, config.METRICS_TOKEN),
    statusRequiresKey: config.STATUS_REQUIRES_KEY,
    trustProxy: config.TRUST_PROXY,
    rateLimitPerMinute: config.RATE_LIMIT_PER_MINUTE,
    queries: new TransactionQueries(db, { retentionDays: config.RETENTION_DAYS }),
    registry: new Registry(),
    isDraining: () => drain.isDraining,
  };
  if (config.WARM_UP_REQUESTS > 0) {
    const warmUp = await warmUpRequestPath(createApp, appDependencies, {
      store: withCallDeadlines(new WarmUpStore(db, () => clock.now()), callDeadlineMs, 'WarmUpStore'),
      logger: createLogger('api', config, { context: currentLogContext, stream: nowhere() }),
      requests: config.WARM_UP_REQUESTS,
      connections: WARM_UP_CONNECTIONS,
    });
    if (warmUp.stopped) logger.warn('api warm-up stopped early; listening anyway', { ...warmUp });
    else logger.info('api warmed up', { ...warmUp });
  }
  server = await listen(createApp(appDependencies), config.PORT, {
    newConnectionHold: { ...DEFAULT_NEW_CONNECTION_HOLD, quietMs: config.NEW_CONNECTION_QUIET_MS },
  });
  drain.attach(server);
  const { port } = server.address() as AddressInfo;
  logger.info('api listening', {
    port,
    database: config.MONGODB_DB,
    ...posture.banner,
    rate_limit_per_minute: config.RATE_LIMIT_PER_MINUTE ?? 'off',
  });
}

runMain(main);
