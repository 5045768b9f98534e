import { collectDefaultMetrics, Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { ClaimedTransaction } from '@txhook/shared';
import type { WorkerObserver } from './worker-observer';

/**
 * A claim counts as a reclaim when the record was claimed before (attempts > 1) and no failure
 * was recorded (no last_error): the earlier attempt left no outcome, so its lease expired (worker
 * died or stalled) or it was released at a graceful shutdown. Lease expiries after a recorded
 * failure are not told apart from retries; txhook_worker_leases_lost_total sees those.
 */
export function isReclaim(record: Pick<ClaimedTransaction, 'attempts' | 'last_error'>): boolean {
  return record.attempts > 1 && record.last_error === null;
}

/**
 * Registers the worker's metrics on `registry` and returns the observer that feeds them.
 * `inFlight` is read on scrape, so the gauge never drifts from the worker's own count.
 */
export function createWorkerMetrics(registry: Registry, sources: { inFlight: () => number }): WorkerObserver {
  collectDefaultMetrics({ register: registry });
  const counter = (name: string, help: string) => new Counter({ name, help, registers: [registry] });
  const claims = counter('txhook_worker_claims_total', 'Records claimed by this worker');
  const reclaims = counter(
    'txhook_worker_reclaims_total',
    'Claims of records whose previous attempt left no outcome (lease expired, or released on shutdown)',
  );
  const processed = counter('txhook_worker_processed_total', 'Records this worker marked PROCESSED');
  const retries = counter('txhook_worker_retries_total', 'Failed calls scheduled for another attempt');
  const failed = counter('txhook_worker_failed_total', 'Records marked FAILED after their last attempt');
  const leasesLost = counter(
    'txhook_worker_leases_lost_total',
    'Outcome writes refused by fencing: the lease had expired and another worker took the record',
  );
  const lag = new Histogram({
    name: 'txhook_worker_processing_lag_seconds',
    help: 'From webhook stored (created_at) to PROCESSED (processed_at)',
    // The simulated call alone takes 30 s by default; retries and backlog push it to minutes.
    buckets: [0.1, 0.5, 1, 2.5, 5, 10, 20, 30, 45, 60, 120, 300, 600, 1800, 3600],
    registers: [registry],
  });
  new Gauge({
    name: 'txhook_worker_in_flight',
    help: 'External calls this worker is running now',
    registers: [registry],
    collect() {
      this.set(sources.inFlight());
    },
  });
  return {
    claimed(record) {
      claims.inc();
      if (isReclaim(record)) reclaims.inc();
    },
    processed(_record, lagMs) {
      processed.inc();
      lag.observe(lagMs / 1000);
    },
    retryScheduled: () => retries.inc(),
    failed: () => failed.inc(),
    leaseLost: () => leasesLost.inc(),
  };
}
