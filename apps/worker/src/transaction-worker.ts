import { setTimeout as delay } from 'node:timers/promises';
import {
  backoffMs,
  type ClaimedTransaction,
  type LeaseRef,
  type Logger,
  type TransactionRepository,
} from '@txhook/shared';
import type { ExternalCall } from './external-call';
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
  /** Deadline of one external call: past it the call is aborted and counts as a failed attempt. */
  externalCallTimeoutMs?: number;
  /** Leases without an outcome before a record is poison (FAILED); unbounded when unset. */
  maxClaims?: number;
  /** Told about claims and outcomes (metrics); nothing by default. */
  observer?: WorkerObserver;
}

export interface StopSummary {
  /** In-flight records that finished within the grace period. */
  finished: number;
  /** In-flight records given back to the queue for another worker. */
  released: number;
}

type AbortReason = 'shutdown' | 'lease-lost' | 'timeout';

/** One record this process works on, under the lease it holds now. */
interface Job {
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

const DEFAULT_CALL_TIMEOUT_MS = 60_000;

/**
 * Claims due records one round trip at a time, runs their external calls concurrently up to
 * `concurrency`, keeps their leases alive with a heartbeat and finishes each with an update
 * fenced by its lease token. Recovery of a dead worker's records happens by lease expiry alone.
 *
 * At most one call per record at a time: work is tracked per record *and* lease. A claim that
 * returns a record whose call already runs here (its lease expired during a stall and nobody else
 * took it) adopts the new lease for that call instead of starting a second one; a heartbeat that
 * finds a lease gone aborts the local call at once; a call past its deadline is aborted and no
 * longer renewed.
 */
export class TransactionWorker {
  private readonly inFlight = new Map<string, Job>();
  /** Finished calls are written in batches (see CompletionBatcher). */
  private readonly completions: CompletionBatcher;
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

  private get callTimeoutMs(): number {
    return this.options.externalCallTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
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
    const { workerId, observer: _observer, retryPolicy: _retryPolicy, ...settings } = this.options;
    this.logger.info('worker started', {
      worker_id: workerId,
      ...settings,
      external_call_timeout_ms: this.callTimeoutMs,
    });
  }

  /**
   * Stops claiming at once, gives in-flight calls `graceMs` to finish, then aborts the rest and
   * releases their leases so another worker can take them at once instead of waiting for expiry.
   */
  async stop(graceMs: number): Promise<StopSummary> {
    this.running = false;
    this.wake?.();
    await this.claimLoop;
    const pending = [...this.inFlight.values()];
    const graceOver = new AbortController();
    await Promise.race([
      Promise.all(pending.map((job) => job.done)),
      delay(graceMs, undefined, { signal: graceOver.signal }).catch(() => undefined),
    ]);
    graceOver.abort();
    const unfinished = [...this.inFlight.values()];
    for (const job of unfinished) this.abort(job, 'shutdown');
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
      const sentAt = performance.now();
      try {
        const room = Math.min(this.options.claimBatchSize, this.options.concurrency - this.inFlight.size);
        const result = await this.repository.claimDue(
          this.options.workerId,
          this.options.leaseMs,
          room,
          this.options.maxClaims,
        );
        claimed = result.claimed;
        for (const id of result.poisoned) {
          this.logger.error('poison record: leased too often without an outcome, marked FAILED', {
            transaction_id: id,
            max_claims: this.options.maxClaims,
          });
          this.observer.poisoned?.(id);
        }
        failures = 0;
      } catch (error) {
        failures += 1;
        const waitMs = backoffMs(failures, 100);
        this.logger.warn('claim failed, backing off', { error: String(error), backoff_ms: waitMs });
        await this.idle(waitMs);
        continue;
      }
      const fresh: ClaimedTransaction[] = [];
      for (const record of claimed) {
        this.logger.debug('transaction claimed', {
          transaction_id: record.transaction_id,
          lease_token: record.lease_token,
          claims: record.claims,
        });
        this.observer.claimed?.(record);
        const running = this.inFlight.get(record.transaction_id);
        if (running) this.adopt(running, record, sentAt);
        else fresh.push(record);
      }
      // Stopped while the claim was on its way: give the records back without calling.
      if (!this.running) {
        await Promise.all(fresh.map((record) => this.releaseUnstarted(record)));
        break;
      }
      await this.startCalls(fresh, sentAt);
      // Busy: claim again at once. Idle: wait, without spinning.
      if (claimed.length === 0) await this.idle(this.options.pollIntervalMs);
    }
  }

  /**
   * A claim returned a record whose call runs here: its lease expired while this process stalled
   * and nobody else took it. The running call carries on under the new lease; no second call.
   */
  private adopt(job: Job, record: ClaimedTransaction, claimSentAt?: number): void {
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
   * Counts the calls (fenced, one write per claim batch) and starts those whose lease is still
   * ours. A lease that may have lapsed since (the process stalled while the write was on its
   * way) is checked with the database again before its call starts.
   */
  private async startCalls(records: ClaimedTransaction[], claimSentAt: number): Promise<void> {
    if (records.length === 0) return;
    const jobs = records.map((record) => this.track(record, claimSentAt));
    const sentAt = performance.now();
    let counted: Map<string, string>;
    try {
      counted = await this.repository.startCalls(
        this.options.workerId,
        jobs.map(leaseOf),
        this.options.leaseMs,
      );
    } catch (error) {
      this.logger.warn('could not count the calls before starting them; giving the records back', {
        error: String(error),
        records: jobs.length,
      });
      await Promise.all(
        jobs.map((job) => this.releaseUnstarted(job.record).finally(() => this.untrack(job))),
      );
      return;
    }
    let toStart = jobs.filter((job) => {
      if (counted.get(job.record.transaction_id) === job.token) {
        job.leaseValidUntil = sentAt + this.options.leaseMs;
        return true;
      }
      this.loseLease(job, 'before its call started');
      this.untrack(job);
      return false;
    });
    const stale = toStart.filter((job) => !this.surelyLeased(job));
    if (stale.length > 0) {
      const held = await this.verifyLeases(stale);
      toStart = toStart.filter((job) => {
        if (!stale.includes(job) || held.get(job.record.transaction_id) === job.token) return true;
        this.loseLease(job, 'before its call started (stalled)');
        this.untrack(job);
        return false;
      });
    }
    for (const job of toStart) this.runCall(job);
  }

  /** True while at least half a lease of validity is left, measured on the monotonic clock. */
  private surelyLeased(job: Job): boolean {
    return performance.now() < job.leaseValidUntil - this.options.leaseMs / 2;
  }

  private async verifyLeases(jobs: Job[]): Promise<Map<string, string>> {
    const sentAt = performance.now();
    try {
      const held = await this.repository.renewLeases(
        this.options.workerId,
        jobs.map(leaseOf),
        this.options.leaseMs,
      );
      for (const job of jobs) {
        if (held.get(job.record.transaction_id) === job.token)
          job.leaseValidUntil = sentAt + this.options.leaseMs;
      }
      return held;
    } catch (error) {
      this.logger.warn('could not verify leases before starting calls', { error: String(error) });
      return new Map();
    }
  }

  private track(record: ClaimedTransaction, claimSentAt: number): Job {
    const job: Job = {
      record,
      token: record.lease_token,
      phase: 'starting',
      leaseValidUntil: claimSentAt + this.options.leaseMs,
      deadline: Number.POSITIVE_INFINITY,
      controller: new AbortController(),
      done: Promise.resolve(),
    };
    this.inFlight.set(record.transaction_id, job);
    return job;
  }

  private untrack(job: Job): void {
    if (this.inFlight.get(job.record.transaction_id) === job) this.inFlight.delete(job.record.transaction_id);
    this.wake?.();
  }

  private runCall(job: Job): void {
    const { record } = job;
    const log = () => ({
      transaction_id: record.transaction_id,
      lease_token: job.token,
      claims: record.claims,
    });
    this.logger.debug('external call started', log());
    job.phase = 'calling';
    job.deadline = performance.now() + this.callTimeoutMs;
    const timer = setTimeout(() => this.abort(job, 'timeout'), this.callTimeoutMs);
    job.done = (async () => {
      try {
        await untilAborted(this.externalCall(record, job.controller.signal), job.controller.signal);
        clearTimeout(timer);
        job.phase = 'finishing';
        const finished = await this.underCurrentLease(job, (token) =>
          this.completions.finish({ transaction_id: record.transaction_id, lease_token: token }),
        );
        if (finished) {
          this.logger.info('transaction processed', log());
          this.observer.processed?.(record, Date.now() - record.created_at.getTime());
        } else {
          this.logger.warn('lease lost before finishing; another worker owns it now', log());
          this.observer.leaseLost?.(record);
        }
      } catch (error) {
        clearTimeout(timer);
        job.phase = 'finishing';
        if (job.abortReason === 'shutdown') await this.release(job);
        else if (job.abortReason === 'timeout') {
          this.observer.callTimedOut?.(record);
          await this.recordFailure(job, new Error(`external call timed out after ${this.callTimeoutMs} ms`));
        } else if (job.abortReason !== 'lease-lost') await this.recordFailure(job, error);
      } finally {
        this.untrack(job);
      }
    })();
  }

  private abort(job: Job, reason: AbortReason): void {
    if (job.abortReason || job.phase !== 'calling') return;
    job.abortReason = reason;
    job.controller.abort(reason);
  }

  /** The lease is gone (another worker holds the record): count it, say it once. */
  private loseLease(job: Job, when: string): void {
    this.logger.warn(`lease lost ${when}; the call is not ours any more`, {
      transaction_id: job.record.transaction_id,
      lease_token: job.token,
    });
    this.observer.leaseLost?.(job.record);
  }

  /** A failed call: retry later with backoff, or FAILED once the attempts are used up. */
  private async recordFailure(job: Job, error: unknown): Promise<void> {
    const { record } = job;
    const message = error instanceof Error ? error.message : String(error);
    const policy = this.options.retryPolicy;
    const id = record.transaction_id;
    const attemptsMade = record.attempts + 1;
    const log = { transaction_id: id, lease_token: job.token, attempt: attemptsMade };
    try {
      if (policy.isExhausted(attemptsMade)) {
        const failed = await this.underCurrentLease(job, (token) =>
          this.repository.markFailed(id, token, message),
        );
        if (failed) {
          this.logger.warn('transaction failed', { ...log, error: message });
          this.observer.failed?.(record);
        } else {
          this.logger.warn('lease lost before recording the failure', log);
          this.observer.leaseLost?.(record);
        }
        return;
      }
      const retryAt = new Date(this.repository.clockNow().getTime() + policy.delayAfter(attemptsMade));
      const scheduled = await this.underCurrentLease(job, (token) =>
        this.repository.scheduleRetry(id, token, message, retryAt),
      );
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

  /** Shutdown: the call was cut short; give the record back without spending an attempt. */
  private async release(job: Job): Promise<void> {
    const log = { transaction_id: job.record.transaction_id, lease_token: job.token };
    const released = await this.underCurrentLease(job, (token) =>
      this.repository.releaseLease(job.record.transaction_id, token),
    ).catch(() => false);
    if (released) {
      this.logger.info('transaction released on shutdown', log);
      this.observer.released?.(job.record);
    } else this.logger.warn('could not release on shutdown; its lease will expire', log);
  }

  /** A claimed record whose call never started: back to the queue at once. */
  private async releaseUnstarted(record: ClaimedTransaction): Promise<void> {
    await this.repository.releaseLease(record.transaction_id, record.lease_token).catch(() => false);
  }

  /**
   * A fenced write under the job's lease. Refused because this worker claimed the record back
   * meanwhile (new token, same running call)? Then it is still ours: write under the new token.
   */
  private async underCurrentLease(job: Job, write: (token: string) => Promise<boolean>): Promise<boolean> {
    for (;;) {
      const token = job.token;
      const done = await this.persist(() => write(token));
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

  /**
   * Heartbeat: renews, per record, the leases of calls that run (and of outcomes being written),
   * never those past their deadline. A running call whose lease is gone is aborted at once.
   */
  private async renewLeases(): Promise<void> {
    const now = performance.now();
    const jobs = [...this.inFlight.values()].filter((job) => job.phase !== 'starting' && now < job.deadline);
    if (jobs.length === 0) return;
    const sent = jobs.map((job) => ({ job, token: job.token }));
    const sentAt = performance.now();
    let held: Map<string, string>;
    try {
      held = await this.repository.renewLeases(
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
      if (this.inFlight.get(job.record.transaction_id) !== job || job.token !== token) continue;
      const current = held.get(job.record.transaction_id);
      if (current === token) job.leaseValidUntil = sentAt + this.options.leaseMs;
      else if (current !== undefined) {
        // Our own claim took it back (its reply may still be on the way): same call, new lease.
        this.adopt(job, { ...job.record, lease_token: current });
      } else if (job.phase === 'calling' && !job.abortReason) {
        this.loseLease(job, 'while its call ran (aborted)');
        this.abort(job, 'lease-lost');
      }
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

function leaseOf(job: Job): LeaseRef {
  return { transaction_id: job.record.transaction_id, lease_token: job.token };
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
    call.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
