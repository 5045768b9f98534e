import { Router } from 'express';
import { collectDefaultMetrics, Gauge, type Registry } from 'prom-client';
import { TransactionStatus, type QueueSnapshot, type TransactionQueries } from '@txhook/transactions';
import { type Logger } from '@txhook/platform';
import { cached } from '../cached';
import { methodNotAllowed } from '../http-errors';
import { inlineResponse, oneGetResource } from '../openapi-parts';
import type { ApiResource } from './route';

/** The queue gauges cost a few counts; scrapes within this window share one reading. */
const QUEUE_SNAPSHOT_TTL_MS = 5_000;

export const metricsResource: ApiResource = oneGetResource({
  path: '/metrics',
  access: 'metrics',
  operationId: 'getMetrics',
  summary: 'Prometheus metrics (a read key or METRICS_TOKEN)',
  ok: inlineResponse('Prometheus text exposition format', 'text/plain', { type: 'string' }),
});

/**
 * GET /metrics: Prometheus text format, of every metric on `registry` (each router registers its
 * own there). This router adds the process metrics and the queue gauges, read on scrape.
 */
export function metricsRouter(deps: {
  registry: Registry;
  queries: TransactionQueries;
  logger: Logger;
}): Router {
  collectDefaultMetrics({ register: deps.registry });
  registerQueueGauges(deps.registry, {
    queueSnapshot: cached(() => deps.queries.queueSnapshot(), QUEUE_SNAPSHOT_TTL_MS),
    logger: deps.logger,
  });
  const router = Router();
  router
    .route('/metrics')
    .get(async (_req, res) => {
      const body = await deps.registry.metrics();
      res
        .status(200)
        .set('Content-Type', deps.registry.contentType)
        .set('Cache-Control', 'no-store')
        .send(body);
    })
    .all(methodNotAllowed(['GET', 'HEAD']));
  return router;
}

/** The queue state from the database: records by status, the backlog and its age. */
function registerQueueGauges(
  registry: Registry,
  sources: {
    /** Queue state read from the database on scrape; callers bound and cache it. */
    queueSnapshot: () => Promise<QueueSnapshot>;
    logger: Logger;
  },
): void {
  // registry.metrics() reads all metrics concurrently, so each database gauge collects for
  // itself; they share one database read per scrape (cached() joins concurrent callers).
  const readSnapshot = cached(
    () =>
      sources.queueSnapshot().catch((error: unknown) => {
        sources.logger.warn('metrics: could not read queue state', { error: String(error) });
        return undefined;
      }),
    0,
  );
  /** A gauge set from the snapshot; without one (database unreachable) it has no value at all. */
  const snapshotGauge = (
    name: string,
    help: string,
    labelNames: string[],
    apply: (gauge: Gauge, snapshot: QueueSnapshot) => void,
  ): Gauge =>
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        const snapshot = await readSnapshot();
        // Stale numbers would look healthy: drop them (txhook_database_stats_up says why).
        this.reset();
        if (snapshot) apply(this, snapshot);
      },
    });
  snapshotGauge(
    'txhook_records',
    'Stored transactions by status (read from the database on scrape, cached a few seconds)',
    ['status'],
    (gauge, snapshot) => {
      for (const status of Object.values(TransactionStatus)) gauge.set({ status }, snapshot.counts[status]);
    },
  );
  snapshotGauge(
    'txhook_due_records',
    'PROCESSING records a worker may claim now (the backlog)',
    [],
    (gauge, snapshot) => gauge.set(snapshot.due),
  );
  snapshotGauge(
    'txhook_oldest_due_age_seconds',
    'How long the longest-waiting claimable record has been due; 0 when none is',
    [],
    (gauge, snapshot) => gauge.set(snapshot.oldest_due_age_seconds),
  );
  new Gauge({
    name: 'txhook_database_stats_up',
    help: '1 when this scrape read the queue state from the database, 0 when that failed',
    registers: [registry],
    async collect() {
      this.set((await readSnapshot()) ? 1 : 0);
    },
  });
}
