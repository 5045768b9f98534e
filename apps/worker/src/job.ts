import type { ClaimedTransaction, LeaseRef } from '@txhook/transactions';

export type AbortReason = 'shutdown' | 'lease-lost' | 'timeout';

/** One record this process works on, under the lease it holds now. */
export interface Job {
  record: ClaimedTransaction;
  /** The current lease: replaced when this worker claims back a record whose call is running. */
  token: string;
  /** starting: call being counted; calling: the call runs; finishing: outcome being written. */
  phase: 'starting' | 'calling' | 'finishing';
  /** Monotonic ms until which the lease is surely ours (from when the last renewal was sent). */
  leaseValidUntil: number;
  /** Monotonic ms after which the call is aborted and its lease no longer renewed. */
  deadline: number;
  controller: AbortController;
  abortReason?: AbortReason;
  done: Promise<void>;
}

/** A job for a record just claimed; `claimSentAt` (monotonic ms) is when the claim was sent. */
export function newJob(record: ClaimedTransaction, claimSentAt: number, leaseMs: number): Job {
  return {
    record,
    token: record.lease_token,
    phase: 'starting',
    leaseValidUntil: claimSentAt + leaseMs,
    deadline: Number.POSITIVE_INFINITY,
    controller: new AbortController(),
    done: Promise.resolve(),
  };
}

export function leaseOf(job: Job): LeaseRef {
  return { transaction_id: job.record.transaction_id, lease_token: job.token };
}

/** Aborts a running call; the first reason wins, and only a call that runs can be aborted. */
export function abortJob(job: Job, reason: AbortReason): void {
  if (job.abortReason || job.phase !== 'calling') return;
  job.abortReason = reason;
  job.controller.abort(reason);
}

/** Log fields that name a job's record and lease. */
export function jobFields(job: Job): { transaction_id: string; lease_token: string } {
  return { transaction_id: job.record.transaction_id, lease_token: job.token };
}
