import type { RequestHandler } from 'express';
import { collectDefaultMetrics, Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { TransactionStatus, type Logger, type QueueSnapshot } from '@txhook/shared';
import { cached } from './cached';

/**
 * How a webhook delivery ended, as a label value. `unauthorized` is for signature checks (401/403):
 * they are counted from the status code, so whatever answers them needs no metrics code.
 */
export const WEBHOOK_OUTCOMES = [
  'accepted',
  'duplicate',
  'conflict',
  'invalid',
  'unauthorized',
  'unavailable',
  'error',
] as const;
export type WebhookOutcome = (typeof WEBHOOK_OUTCOMES)[number];

/** The outcome of a POST /v1/webhooks/transactions from its response status. */
export function webhookOutcomeOf(status: number): WebhookOutcome {
  if (status === 202) return 'accepted';
  if (status === 200) return 'duplicate';
  if (status === 409) return 'conflict';
  if (status === 401 || status === 403) return 'unauthorized';
  if (status === 503) return 'unavailable';
  if (status >= 400 && status < 500) return 'invalid';
  return 'error';
}

export interface ApiMetrics {
  registry: Registry;
  webhooksReceived: Counter<'outcome'>;
  ackDuration: Histogram<'outcome'>;
}

export interface ApiMetricsSources {
  /** Queue state read from the database on scrape; callers bound and cache it. */
  queueSnapshot: () => Promise<QueueSnapshot>;
  logger: Logger;
}

/** Every metric the API exports, registered on `registry` (a fresh one per app in tests). */
export function createApiMetrics(registry: Registry, sources: ApiMetricsSources): ApiMetrics {
  collectDefaultMetrics({ register: registry });
  const webhooksReceived = new Counter({
    name: 'txhook_webhooks_received_total',
    help: 'Webhook deliveries answered, by outcome',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const ackDuration = new Histogram({
    name: 'txhook_webhook_ack_duration_seconds',
    help: 'Time from a webhook request arriving to its answer being sent, by outcome',
    labelNames: ['outcome'],
    // The contract is < 500 ms; the buckets are fine below it.
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  // Every outcome exists from the start, so rate() and alerts see 0 instead of no series.
  for (const outcome of WEBHOOK_OUTCOMES) webhooksReceived.inc({ outcome }, 0);

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
  return { registry, webhooksReceived, ackDuration };
}

/** Counts each webhook delivery by outcome and times it until the answer is sent. */
export function observeWebhooks(metrics: ApiMetrics): RequestHandler {
  return (_req, res, next) => {
    const started = performance.now();
    res.once('finish', () => {
      const outcome = webhookOutcomeOf(res.statusCode);
      metrics.webhooksReceived.inc({ outcome });
      metrics.ackDuration.observe({ outcome }, (performance.now() - started) / 1000);
    });
    next();
  };
}
