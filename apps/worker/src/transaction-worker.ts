import { setTimeout as delay } from 'node:timers/promises';
import { backoffMs, type ClaimedTransaction, type Logger, type TransactionRepository } from '@txhook/shared';
import { CallAbortedError, type ExternalCall } from './external-call';
import type { RetryPolicy } from './retry-policy';
import { CompletionBatcher } from './completion-batcher';
import type { WorkerObserver } from './worker-observer';

export type { ExternalCall } from './external-call';

export interface TransactionWorkerOptions {
  /** Unique per process: written to each lease as its owner. */
  workerId: string;
  leaseMs: number;
  /** Most records in flight at once. */
  concurrency: number;
  /** Idle wait when nothing is due. */
  pollIntervalMs: number;
  /** Most records claimed in one round of claiming (see TransactionRepository.claimBatch). */
  claimBatchSize: number;
  /** Backoff after a failed call and when to give up (FAILED). */
  retryPolicy: RetryPolicy;
  /** Told about claims and outcomes (metrics); nothing by default. */
  observer?: WorkerObserver;
}

export interface StopSummary {
  /** In-flight records that finished within the grace period. */
  finished: number;
  /** In-flight records given back to the queue for another worker. */
  released: number;
}

interface InFlight {
  record: ClaimedTransaction;
  done: Promise<void>;
}

/**
 * Claims due records one round trip at a time, runs their external calls concurrently up to
 * `concurrency`, keeps their leases alive with a heartbeat and finishes each with an update
 * fenced by its lease token. Recovery of a dead worker's records happens by lease expiry alone.
 */
export class TransactionWorker {
  private readonly inFlight = new Map<string, InFlight>();
  /** Finished calls are written in batches (see CompletionBatcher). */
  private readonly completions: CompletionBatcher;
  /** One signal for every call: aborted when stop() gives up waiting (cheaper than one per call). */
  private readonly shutdown = new AbortController();
  private running = false;
  private claimLoop: Promise<void> | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;

  constructor(
    private readonly repository: TransactionRepository,
    private readonly externalCall: ExternalCall,
    private readonly logger: Logger,
    private readonly options: TransactionWorkerOptions,
  ) {
    this.completions = new CompletionBatcher((items) => this.repository.markProcessedMany(items));
  }

  private get observer(): WorkerObserver {
    return this.options.observer ?? {};
  }

  get inFlightCount(): number {
    return this.inFlight.size;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.claimLoop = this.runClaimLoop();
    // Renew three times per lease so one slow or failed heartbeat does not lose the lease.
    this.heartbeat = setInterval(() => void this.renewLeases(), Math.max(100, this.options.leaseMs / 3));
    const { workerId, observer: _observer, ...settings } = this.options;
    this.logger.info('worker started', { worker_id: workerId, ...settings });
  }

  /**
   * Stops claiming, gives in-flight calls `graceMs` to finish, then aborts the rest and releases
   * their leases so another worker can take them at once instead of waiting for expiry.
   */
  async stop(graceMs: number): Promise<StopSummary> {
    this.running = false;
    this.wake?.();
    await this.claimLoop;
    const pending = [...this.inFlight.values()];
    await Promise.race([Promise.all(pending.map((job) => job.done)), delay(graceMs)]);
    const unfinished = [...this.inFlight.values()];
    this.shutdown.abort();
    await Promise.all(unfinished.map((job) => job.done));
    clearInterval(this.heartbeat);
    const summary = { finished: pending.length - unfinished.length, released: unfinished.length };
    this.logger.info('worker stopped', { worker_id: this.options.workerId, ...summary });
    return summary;
  }

  private async runClaimLoop(): Promise<void> {
    let failures = 0;
    while (this.running) {
      if (this.inFlight.size >= this.options.concurrency) {
        await this.idle(this.options.pollIntervalMs); // woken early when a slot frees up
        continue;
      }
      let claimed: ClaimedTransaction[];
      try {
        const room = Math.min(this.options.claimBatchSize, this.options.concurrency - this.inFlight.size);
        claimed = await this.repository.claimBatch(this.options.workerId, this.options.leaseMs, room);
        failures = 0;
      } catch (error) {
        failures += 1;
        const waitMs = backoffMs(failures, 100);
        this.logger.warn('claim failed, backing off', { error: String(error), backoff_ms: waitMs });
        await this.idle(waitMs);
        continue;
      }
      // Busy: claim again at once. Idle: wait, without spinning.
      for (const record of claimed) this.process(record);
      if (claimed.length === 0) await this.idle(this.options.pollIntervalMs);
    }
  }

  private process(record: ClaimedTransaction): void {
    const token = record.lease_token;
    const log = { transaction_id: record.transaction_id, lease_token: token, attempt: record.attempts };
    this.logger.debug('transaction claimed', log);
    this.observer.claimed?.(record);
    const done = (async () => {
      try {
        await this.externalCall(record, this.shutdown.signal);
        const finished = await this.persist(() =>
          this.completions.finish({ transaction_id: record.transaction_id, lease_token: token }),
        );
        if (finished) {
          this.logger.info('transaction processed', log);
          this.observer.processed?.(record, Date.now() - record.created_at.getTime());
        } else {
          this.logger.warn('lease lost before finishing; another worker owns it now', log);
          this.observer.leaseLost?.(record);
        }
      } catch (error) {
        if (error instanceof CallAbortedError) await this.release(record, log);
        else await this.recordFailure(record, error, log);
      } finally {
        this.inFlight.delete(record.transaction_id);
        this.wake?.();
      }
    })();
    this.inFlight.set(record.transaction_id, { record, done });
  }

  /** A failed call: retry later with backoff, or FAILED once the attempts are used up. */
  private async recordFailure(record: ClaimedTransaction, error: unknown, log: object): Promise<void> {
    const message = error instanceof Error ? error.message : String(error);
    const policy = this.options.retryPolicy;
    const { transaction_id: id, lease_token: token } = record;
    try {
      if (policy.isExhausted(record.attempts)) {
        const failed = await this.persist(() => this.repository.markFailed(id, token, message));
        if (failed) {
          this.logger.warn('transaction failed', { ...log, error: message });
          this.observer.failed?.(record);
        } else {
          this.logger.warn('lease lost before recording the failure', log);
          this.observer.leaseLost?.(record);
        }
        return;
      }
      const retryAt = new Date(Date.now() + policy.delayAfter(record.attempts));
      const scheduled = await this.persist(() => this.repository.scheduleRetry(id, token, message, retryAt));
      if (scheduled) {
        this.logger.warn('transaction attempt failed, will retry', {
          ...log,
          error: message,
          retry_at: retryAt.toISOString(),
        });
        this.observer.retryScheduled?.(record);
      } else {
        this.logger.warn('lease lost before recording the failure', log);
        this.observer.leaseLost?.(record);
      }
    } catch (databaseError) {
      // The database stayed unreachable: the lease expires and the attempt is simply repeated.
      this.logger.error('could not record a failed attempt; it repeats after the lease expires', {
        ...log,
        error: message,
        database_error: String(databaseError),
      });
    }
  }

  private async release(record: ClaimedTransaction, log: object): Promise<void> {
    const released = await this.repository
      .releaseLease(record.transaction_id, record.lease_token)
      .catch(() => false);
    if (released) this.logger.info('transaction released on shutdown', log);
    else this.logger.warn('could not release on shutdown; its lease will expire', log);
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

  private async renewLeases(): Promise<void> {
    // Records claimed together share a token: renew each token once.
    const tokens = [...new Set([...this.inFlight.values()].map((job) => job.record.lease_token))];
    if (tokens.length === 0) return;
    try {
      await this.repository.renewLeases(tokens, this.options.leaseMs);
    } catch (error) {
      this.logger.warn('lease renewal failed', { error: String(error), leases: tokens.length });
    }
  }

  /** Waits up to `ms`, or less when stop() or a finished call wakes the loop. */
  private idle(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        if (this.wake === done) this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }
}
