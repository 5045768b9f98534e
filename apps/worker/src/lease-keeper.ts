import type { ClaimedTransaction, LeaseQueue } from '@txhook/transactions';
import type { Logger } from '@txhook/platform';
import { abortJob, jobFields, leaseOf, type Job } from './job';
import type { WorkerObserver } from './worker-observer';

export interface LeaseKeeperOptions {
  /** Written to each lease as its owner. */
  workerId: string;
  leaseMs: number;
}

/**
 * Keeps this worker's leases, the way BullMQ's LockManager keeps its locks: a heartbeat renews
 * each running call's lease, per record and token, once a third of it has passed, a lease found gone aborts its call, and a
 * claim-back of a record whose call runs here is adopted (same call, new token). Also counts the
 * calls just before they start, under the lease. The one place that says a lease was lost.
 */
export class LeaseKeeper {
  private heartbeat: NodeJS.Timeout | undefined;
  /** A renewal is on its way. */
  private renewing = false;

  constructor(
    private readonly queue: LeaseQueue,
    private readonly logger: Logger,
    private readonly observer: WorkerObserver,
    private readonly options: LeaseKeeperOptions,
    /** The jobs this process works on now, by transaction id. */
    private readonly jobs: ReadonlyMap<string, Job>,
  ) {}

  start(): void {
    // Looks every thirtieth of a lease for leases a third of whose time has passed (see renewDue).
    this.heartbeat ??= setInterval(() => void this.renewDue(), Math.max(100, this.options.leaseMs / 30));
  }

  stop(): void {
    clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }

  /** The lease is gone (another worker holds the record): say it, and count it, once. */
  lost(job: Job, when: string): void {
    this.logger.warn(`lease lost ${when}; the record is not ours any more`, jobFields(job));
    this.observer.leaseLost?.(job.record);
  }

  /**
   * A claim (or a heartbeat) returned a record whose call runs here under an older token: its
   * lease expired while this process stalled and nobody else took it. The running call carries on
   * under the new lease; no second call.
   */
  adopt(job: Job, record: ClaimedTransaction, claimSentAt?: number): void {
    if (job.token === record.lease_token) return; // the heartbeat adopted it first
    this.logger.warn('lease expired under a running call and was claimed back; the call continues', {
      transaction_id: record.transaction_id,
      old_lease_token: job.token,
      lease_token: record.lease_token,
    });
    job.token = record.lease_token;
    // Seen by a heartbeat, the claim's send time is unknown: only the next renewal vouches for it.
    if (claimSentAt !== undefined) job.leaseValidUntil = claimSentAt + this.options.leaseMs;
    this.observer.ownLeaseReclaimed?.(record);
  }

  /**
   * Counts the calls of `jobs` (fenced, one write for all) and answers those whose lease is still
   * ours, so may start. A lease that may have lapsed since (the process stalled while the write
   * was on its way) is checked with the database again first. Throws when the count could not be
   * written: then no call may start.
   */
  async startCalls(jobs: readonly Job[]): Promise<Job[]> {
    if (jobs.length === 0) return [];
    const sentAt = performance.now();
    const counted = await this.queue.startCalls(
      this.options.workerId,
      jobs.map(leaseOf),
      this.options.leaseMs,
    );
    const held = this.keepHeld(jobs, counted, sentAt, 'before its call started');
    const stale = held.filter((job) => !this.surelyLeased(job));
    if (stale.length === 0) return held;
    const verified = new Set(await this.verify(stale));
    return held.filter((job) => verified.has(job) || !stale.includes(job));
  }

  /** True while at least half a lease of validity is left, measured on the monotonic clock. */
  private surelyLeased(job: Job): boolean {
    return performance.now() < job.leaseValidUntil - this.options.leaseMs / 2;
  }

  /** Renews `jobs`' leases and answers those still held; a failed renewal holds none of them. */
  private async verify(jobs: Job[]): Promise<Job[]> {
    const sentAt = performance.now();
    let held = new Map<string, string>();
    try {
      held = await this.queue.renew(this.options.workerId, jobs.map(leaseOf), this.options.leaseMs);
    } catch (error) {
      this.logger.warn('could not verify leases before starting calls', { error: String(error) });
    }
    return this.keepHeld(jobs, held, sentAt, 'before its call started (stalled)');
  }

  /** The jobs `held` confirms under their token (their leases now run from `sentAt`); the rest are lost. */
  private keepHeld(jobs: readonly Job[], held: Map<string, string>, sentAt: number, when: string): Job[] {
    return jobs.filter((job) => {
      if (held.get(job.record.transaction_id) === job.token) {
        job.leaseValidUntil = sentAt + this.options.leaseMs;
        return true;
      }
      this.lost(job, when);
      return false;
    });
  }

  /**
   * Heartbeat: renews, per record, the leases of calls that run (and of outcomes being written)
   * once a third of the lease has passed since it was last confirmed, never those past their
   * deadline. A running call whose lease is gone is aborted at once.
   *
   * Per lease, not all on one beat: renewing every running call every third of a lease sent
   * thousands of renewals at once per worker, and on the embedded server they held the
   * collection's lock while webhooks waited to be stored (acknowledgements over 500 ms, issue 10).
   * Renewals now come as the calls they keep started, and calls shorter than a third of a lease
   * are never renewed. A renewal that fails is tried again at the next look, not a third of a
   * lease later; one at a time, so a slow one is not sent again meanwhile.
   */
  private async renewDue(): Promise<void> {
    if (this.renewing) return;
    this.renewing = true;
    try {
      await this.renew();
    } finally {
      this.renewing = false;
    }
  }

  private async renew(): Promise<void> {
    const now = performance.now();
    const renewBefore = now + (this.options.leaseMs * 2) / 3;
    const jobs = [...this.jobs.values()].filter(
      (job) => job.phase !== 'starting' && now < job.deadline && job.leaseValidUntil <= renewBefore,
    );
    if (jobs.length === 0) return;
    const sent = jobs.map((job) => ({ job, token: job.token }));
    const sentAt = performance.now();
    let held: Map<string, string>;
    try {
      held = await this.queue.renew(
        this.options.workerId,
        sent.map(({ job, token }) => ({ transaction_id: job.record.transaction_id, lease_token: token })),
        this.options.leaseMs,
      );
    } catch (error) {
      this.logger.warn('lease renewal failed', { error: String(error), leases: jobs.length });
      return;
    }
    for (const { job, token } of sent) {
      // Finished meanwhile, or its lease replaced by a claim-back: this answer is not about it.
      if (this.jobs.get(job.record.transaction_id) !== job || job.token !== token) continue;
      const current = held.get(job.record.transaction_id);
      if (current === token) job.leaseValidUntil = sentAt + this.options.leaseMs;
      else if (current !== undefined) {
        // Our own claim took it back (its reply may still be on the way): same call, new lease.
        this.adopt(job, { ...job.record, lease_token: current });
      } else if (job.phase === 'calling' && !job.abortReason) {
        this.lost(job, 'while its call ran (aborted)');
        abortJob(job, 'lease-lost');
      }
    }
  }
}
