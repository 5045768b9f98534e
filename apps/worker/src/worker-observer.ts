import type { ClaimedTransaction } from '@txhook/shared';

/**
 * What a TransactionWorker reports as it works, for metrics (or anything else). Every hook is
 * optional and called synchronously; a hook must not throw.
 */
export interface WorkerObserver {
  /** A record was claimed (its `attempts` already counts this claim). */
  claimed?(record: ClaimedTransaction): void;
  /** The record is PROCESSED; `lagMs` = processed_at - created_at. */
  processed?(record: ClaimedTransaction, lagMs: number): void;
  /** The call failed and another attempt is scheduled. */
  retryScheduled?(record: ClaimedTransaction): void;
  /** The call failed and the attempts are used up: FAILED. */
  failed?(record: ClaimedTransaction): void;
  /** The outcome write was fenced out: the lease had expired and another worker holds it. */
  leaseLost?(record: ClaimedTransaction): void;
}
