import { setTimeout as delay } from 'node:timers/promises';
import type { ClaimedTransaction, LeaseQueue } from '@txhook/transactions';
import type { Logger } from '@txhook/platform';
import { ClaimLoop, type ClaimLoopOptions } from './claim-loop';
import type { ExternalCall } from './external-call';
import { abortJob, newJob, type Job } from './job';
import { LeaseKeeper } from './lease-keeper';
import { OutcomeWriter } from './outcome-writer';
import type { RetryPolicy } from './retry-policy';
import type { WorkerObserver } from './worker-observer';

export type { ExternalCall } from './external-call';

export interface TransactionWorkerOptions extends ClaimLoopOptions {
  /** Backoff after a failed call and when to give up (FAILED). */
  retryPolicy: RetryPolicy;
  /** Deadline of one external call: past it the call is aborted and counts as a failed attempt. */
  externalCallTimeoutMs?: number;
  /** Told about claims and outcomes (metrics); nothing by default. */
  observer?: WorkerObserver;
}

export interface StopSummary {
  /** In-flight records that finished within the grace period. */
  finished: number;
  /** In-flight records given back to the queue for another worker. */
  released: number;
}

const DEFAULT_CALL_TIMEOUT_MS = 60_000;

/**
 * A worker: the claim loop fills free slots with due records, each becomes a job whose external
 * call runs concurrently with the others, the lease keeper keeps their leases (and aborts a call
 * whose lease is gone), and the outcome writer records how each call ended, fenced by its lease.
 * Recovery of a dead worker's records happens by lease expiry alone.
 *
 * At most one call per record at a time: jobs are tracked per record *and* lease. A claim that
 * returns a record whose call already runs here (its lease expired during a stall and nobody else
 * took it) adopts the new lease for that call instead of starting a second one; a call past its
 * deadline is aborted and its lease no longer renewed.
 */
export class TransactionWorker {
  private readonly inFlight = new Map<string, Job>();
  private readonly claims: ClaimLoop;
  private readonly leases: LeaseKeeper;
  private readonly outcomes: OutcomeWriter;

  constructor(
    private readonly queue: LeaseQueue,
    private readonly externalCall: ExternalCall,
    private readonly logger: Logger,
    private readonly options: TransactionWorkerOptions,
  ) {
    const observer = options.observer ?? {};
    this.leases = new LeaseKeeper(queue, logger, observer, options, this.inFlight);
    this.outcomes = new OutcomeWriter(queue, this.leases, logger, observer, options);
    this.claims = new ClaimLoop(
      queue,
      logger,
      observer,
      options,
      () => this.inFlight.size,
      (claimed, sentAt) => this.take(claimed, sentAt),
    );
  }

  private get callTimeoutMs(): number {
    return this.options.externalCallTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
  }

  get inFlightCount(): number {
    return this.inFlight.size;
  }

  start(): void {
    if (this.claims.isRunning) return;
    this.claims.start();
    this.leases.start();
    const { workerId, observer: _observer, retryPolicy: _retryPolicy, ...settings } = this.options;
    this.logger.info('worker started', {
      worker_id: workerId,
      claim_mode: this.queue.claimMode,
      ...settings,
      external_call_timeout_ms: this.callTimeoutMs,
    });
  }

  /**
   * Stops claiming at once, gives in-flight calls `graceMs` to finish, then aborts the rest and
   * releases their leases so another worker can take them at once instead of waiting for expiry.
   */
  async stop(graceMs: number): Promise<StopSummary> {
    await this.claims.stop();
    const pending = [...this.inFlight.values()];
    const graceOver = new AbortController();
    await Promise.race([
      Promise.all(pending.map((job) => job.done)),
      delay(graceMs, undefined, { signal: graceOver.signal }).catch(() => undefined),
    ]);
    graceOver.abort();
    const unfinished = [...this.inFlight.values()];
    for (const job of unfinished) abortJob(job, 'shutdown');
    await Promise.all(unfinished.map((job) => job.done));
    this.leases.stop();
    const summary = { finished: pending.length - unfinished.length, released: unfinished.length };
    this.logger.info('worker stopped', { worker_id: this.options.workerId, ...summary });
    return summary;
  }

  /** What a round of claiming got: claim-backs of running calls are adopted, the rest start. */
  private async take(claimed: ClaimedTransaction[], claimSentAt: number): Promise<void> {
    const fresh: ClaimedTransaction[] = [];
    for (const record of claimed) {
      const running = this.inFlight.get(record.transaction_id);
      if (running) this.leases.adopt(running, record, claimSentAt);
      else fresh.push(record);
    }
    // Stopped while the claim was on its way: give the records back without calling.
    if (!this.claims.isRunning) {
      await Promise.all(fresh.map((record) => this.outcomes.unstarted(record)));
      return;
    }
    await this.startCalls(fresh, claimSentAt);
  }

  /** Counts the calls under their leases and starts those still ours; the rest go back or are lost. */
  private async startCalls(records: ClaimedTransaction[], claimSentAt: number): Promise<void> {
    if (records.length === 0) return;
    const jobs = records.map((record) => this.track(newJob(record, claimSentAt, this.options.leaseMs)));
    let toStart: Job[];
    try {
      toStart = await this.leases.startCalls(jobs);
    } catch (error) {
      this.logger.warn('could not count the calls before starting them; giving the records back', {
        error: String(error),
        records: jobs.length,
      });
      await Promise.all(
        jobs.map((job) => this.outcomes.unstarted(job.record).finally(() => this.untrack(job))),
      );
      return;
    }
    for (const job of jobs) if (!toStart.includes(job)) this.untrack(job);
    for (const job of toStart) this.runCall(job);
  }

  private track(job: Job): Job {
    this.inFlight.set(job.record.transaction_id, job);
    return job;
  }

  private untrack(job: Job): void {
    if (this.inFlight.get(job.record.transaction_id) === job) this.inFlight.delete(job.record.transaction_id);
    this.claims.wake();
  }

  private runCall(job: Job): void {
    const { record } = job;
    this.logger.debug('external call started', {
      transaction_id: record.transaction_id,
      lease_token: job.token,
      claims: record.claims,
    });
    job.phase = 'calling';
    job.deadline = performance.now() + this.callTimeoutMs;
    const timer = setTimeout(() => abortJob(job, 'timeout'), this.callTimeoutMs);
    job.done = (async () => {
      try {
        await untilAborted(this.externalCall(record, job.controller.signal), job.controller.signal);
        clearTimeout(timer);
        job.phase = 'finishing';
        await this.outcomes.processed(job);
      } catch (error) {
        clearTimeout(timer);
        job.phase = 'finishing';
        if (job.abortReason === 'shutdown') await this.outcomes.released(job);
        else if (job.abortReason === 'timeout') {
          this.options.observer?.callTimedOut?.(record);
          await this.outcomes.failed(
            job,
            new Error(`external call timed out after ${this.callTimeoutMs} ms`),
          );
        } else if (job.abortReason !== 'lease-lost') await this.outcomes.failed(job, error);
      } finally {
        this.untrack(job);
      }
    })();
  }
}

/**
 * Settles with `call`, or rejects as soon as `signal` aborts, whichever comes first: a call that
 * ignores its signal (a hung socket) must not hold the worker or its lease past the abort.
 */
function untilAborted(call: Promise<void>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(new Error('aborted'));
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(new Error(`aborted: ${String(signal.reason)}`));
    signal.addEventListener('abort', onAbort, { once: true });
    // Two plain callbacks rather than then + finally: thousands of these wait at once, and
    // finally's extra promise and closures are held by each for the whole call.
    call.then(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      },
      // Passed on as the call rejected it, as `then(resolve, reject)` would.
      (error: Error) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
