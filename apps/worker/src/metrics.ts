import { collectDefaultMetrics, Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { ClaimedTransaction } from '@txhook/transactions';
import type { WorkerObserver } from './worker-observer';

/**
 * A claim counts as a reclaim when an earlier lease of the record ended without an outcome (its
 * worker died, stalled past the lease or lost the claim reply): `unsettled_claims` counts this
 * claim and every such earlier one. Failures, successes and shutdown releases settle a lease.
 */
export function isReclaim(record: Pick<ClaimedTransaction, 'unsettled_claims'>): boolean {
  return record.unsettled_claims > 1;
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
    'Claims of records an earlier lease of which ended without an outcome (worker died or stalled)',
  );
  const processed = counter('txhook_worker_processed_total', 'Records this worker marked PROCESSED');
  const retries = counter('txhook_worker_retries_total', 'Failed calls scheduled for another attempt');
  const failed = counter('txhook_worker_failed_total', 'Records marked FAILED after their last attempt');
  const leasesLost = counter(
    'txhook_worker_leases_lost_total',
    'Leases found held by another worker: call aborted by the heartbeat, not started, or outcome fenced out',
  );
  const timeouts = counter(
    'txhook_worker_call_timeouts_total',
    'External calls aborted at EXTERNAL_CALL_TIMEOUT_MS (each counted as a failed attempt)',
  );
  const poisoned = counter(
    'txhook_worker_poisoned_total',
    'Records marked FAILED as poison: leased MAX_CLAIMS times without an outcome',
  );
  const ownReclaims = counter(
    'txhook_worker_own_lease_reclaims_total',
    'Running calls whose lease expired during a stall and that this worker claimed back (no second call)',
  );
  const released = counter(
    'txhook_worker_released_total',
    'Calls cut short by shutdown and given back to the queue (no attempt spent)',
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
    callTimedOut: () => timeouts.inc(),
    poisoned: () => poisoned.inc(),
    ownLeaseReclaimed: () => ownReclaims.inc(),
    released: () => released.inc(),
  };
}
