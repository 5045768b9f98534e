import { setTimeout as delay } from 'node:timers/promises';
import { backoffMs, Batcher, fulfilled, type Logger } from '@txhook/platform';
import { type LeaseQueue, type LeaseRef } from '@txhook/transactions';
import { jobFields, type Job } from './job';
import type { LeaseKeeper } from './lease-keeper';
import type { RetryPolicy } from './retry-policy';
import type { WorkerObserver } from './worker-observer';

export interface OutcomeWriterOptions {
  leaseMs: number;
  /** Backoff after a failed call and when to give up (FAILED). */
  retryPolicy: RetryPolicy;
}

/**
 * Writes how each call ended, fenced by the job's lease: PROCESSED (in batches: calls that
 * started together end together, and one round trip each would make the database, not the call,
 * the wait), a retry after backoff or FAILED (the failure policy), or the record given back on
 * shutdown. A write the database does not take is retried for up to a lease period, and a write
 * fenced out because this worker claimed the record back meanwhile is redone under the new token.
 */
export class OutcomeWriter {
  private readonly completions: Batcher<LeaseRef, boolean>;

  constructor(
    private readonly queue: LeaseQueue,
    private readonly leases: LeaseKeeper,
    private readonly logger: Logger,
    private readonly observer: WorkerObserver,
    private readonly options: OutcomeWriterOptions,
  ) {
    this.completions = new Batcher(
      async (items) => {
        const finished = await queue.finish(items);
        return items.map((item) => fulfilled(finished.has(item.transaction_id)));
      },
      { maxBatch: 500, maxWaitMs: 20 },
    );
  }

  /** The call succeeded: PROCESSED, unless the lease was lost meanwhile. */
  async processed(job: Job): Promise<void> {
    const { record } = job;
    const finished = await this.underCurrentLease(job, (lease) => this.completions.add(lease));
    if (!finished) return this.leases.lost(job, 'before finishing');
    this.logger.info('transaction processed', { ...jobFields(job), claims: record.claims });
    this.observer.processed?.(record, Date.now() - record.created_at.getTime());
  }

  /** A failed call: retry later with backoff, or FAILED once the attempts are used up. */
  async failed(job: Job, error: unknown): Promise<void> {
    const { record } = job;
    const message = error instanceof Error ? error.message : String(error);
    const policy = this.options.retryPolicy;
    const attemptsMade = record.attempts + 1;
    const log = { ...jobFields(job), attempt: attemptsMade };
    try {
      if (policy.isExhausted(attemptsMade)) {
        if (!(await this.underCurrentLease(job, (lease) => this.queue.fail(lease, message)))) {
          return this.leases.lost(job, 'before recording the failure');
        }
        this.logger.warn('transaction failed', { ...log, error: message });
        this.observer.failed?.(record);
        return;
      }
      const retryAt = new Date(this.queue.clockNow().getTime() + policy.delayAfter(attemptsMade));
      if (!(await this.underCurrentLease(job, (lease) => this.queue.retry(lease, message, retryAt)))) {
        return this.leases.lost(job, 'before recording the failure');
      }
      this.logger.warn('transaction attempt failed, will retry', {
        ...log,
        error: message,
        retry_at: retryAt.toISOString(),
      });
      this.observer.retryScheduled?.(record);
    } catch (databaseError) {
      // The database stayed unreachable: the lease expires and the attempt is simply repeated.
      this.logger.error('could not record a failed attempt; it repeats after the lease expires', {
        ...log,
        error: message,
        database_error: String(databaseError),
      });
    }
  }

  /** Shutdown: the call was cut short; give the record back without spending an attempt. */
  async released(job: Job): Promise<void> {
    const released = await this.underCurrentLease(job, (lease) => this.queue.release(lease)).catch(
      () => false,
    );
    if (released) {
      this.logger.info('transaction released on shutdown', jobFields(job));
      this.observer.released?.(job.record);
    } else this.logger.warn('could not release on shutdown; its lease will expire', jobFields(job));
  }

  /** A claimed record whose call never started: back to the queue at once (else its lease expires). */
  async unstarted(lease: LeaseRef): Promise<void> {
    await this.queue.release(lease).catch(() => false);
  }

  /**
   * A fenced write under the job's lease. Refused because this worker claimed the record back
   * meanwhile (new token, same running call)? Then it is still ours: write under the new token.
   */
  private async underCurrentLease(job: Job, write: (lease: LeaseRef) => Promise<boolean>): Promise<boolean> {
    for (;;) {
      const token = job.token;
      const done = await this.persist(() =>
        write({ transaction_id: job.record.transaction_id, lease_token: token }),
      );
      if (done || job.token === token) return done;
    }
  }

  /**
   * Retries a fenced write through a database hiccup for up to one lease period: giving up
   * earlier would throw away a finished external call and make it run again.
   */
  private async persist(write: () => Promise<boolean>): Promise<boolean> {
    const deadline = Date.now() + this.options.leaseMs;
    for (let attempt = 1; ; attempt++) {
      try {
        return await write();
      } catch (error) {
        if (Date.now() >= deadline) throw error;
        this.logger.warn('database write failed, retrying', { error: String(error), attempt });
        await delay(backoffMs(attempt, 100));
      }
    }
  }
}
