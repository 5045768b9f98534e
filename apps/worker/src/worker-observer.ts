import type { ClaimedTransaction } from '@txhook/transactions';

/**
 * What a TransactionWorker reports as it works, for metrics (or anything else). Every hook is
 * optional and called synchronously; a hook must not throw.
 */
export interface WorkerObserver {
  /** A record was claimed (its `claims` and `unsettled_claims` already count this claim). */
  claimed?(record: ClaimedTransaction): void;
  /** The record is PROCESSED; `lagMs` = processed_at - created_at. */
  processed?(record: ClaimedTransaction, lagMs: number): void;
  /** The call failed and another attempt is scheduled. */
  retryScheduled?(record: ClaimedTransaction): void;
  /** The call failed and the attempts are used up: FAILED. */
  failed?(record: ClaimedTransaction): void;
  /**
   * A lease of ours is gone (another worker holds the record): a heartbeat found it (the local
   * call is aborted), the call could not start, or an outcome write was fenced out.
   */
  leaseLost?(record: ClaimedTransaction): void;
  /** A call ran past its deadline and was aborted (then recorded as a failed attempt). */
  callTimedOut?(record: ClaimedTransaction): void;
  /** A record leased too often without an outcome was marked FAILED instead of leased again. */
  poisoned?(transactionId: string): void;
  /** A running call's lease expired (the process stalled) and this worker claimed it back. */
  ownLeaseReclaimed?(record: ClaimedTransaction): void;
  /** A call cut short by shutdown was given back to the queue (no attempt spent). */
  released?(record: ClaimedTransaction): void;
}
