import { Router } from 'express';
import type { MongoClient } from 'mongodb';
import type { Logger, TransactionQueries, TransactionStore } from '@txhook/shared';
import { cached } from './cached';
import type { ApiMetrics } from './metrics';
import { dashboardRouter } from './routes/dashboard';
import { metricsRouter } from './routes/metrics';
import { probesRouter } from './routes/probes';
import { statsRouter } from './routes/stats';
import { transactionListRouter } from './routes/transaction-list';

/** How long one /v1/stats answer is reused: dashboards poll every 2 s, many may be open. */
const STATS_TTL_MS = 1_000;

/** Liveness and readiness probes (mounted before the rate limiter and the access guard). */
export function probes(deps: {
  client: MongoClient;
  repository: TransactionStore;
  probeTimeoutMs: number;
  logger: Logger;
  isDraining?: () => boolean;
}): Router {
  return probesRouter({
    client: deps.client,
    repository: deps.repository,
    timeoutMs: deps.probeTimeoutMs,
    logger: deps.logger,
    ...(deps.isDraining ? { isDraining: deps.isDraining } : {}),
  });
}

/** The operator endpoints: /metrics, /dashboard, /v1/stats and the transaction list. */
export function operationsRouter(deps: { queries: TransactionQueries; metrics: ApiMetrics }): Router {
  const router = Router();
  router.use(metricsRouter(deps.metrics.registry));
  router.use(dashboardRouter());
  router.use(statsRouter({ stats: cached(() => deps.queries.stats(), STATS_TTL_MS) }));
  router.use(transactionListRouter({ queries: deps.queries }));
  return router;
}
