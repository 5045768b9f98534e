import { backoffMs, type Logger } from '@txhook/platform';
import { type ClaimedTransaction, type LeaseQueue } from '@txhook/transactions';
import type { WorkerObserver } from './worker-observer';

export interface ClaimLoopOptions {
  /** Written to each lease as its owner. */
  workerId: string;
  leaseMs: number;
  /** Most records in flight at once. */
  concurrency: number;
  /** Idle wait when nothing is due. */
  pollIntervalMs: number;
  /** Most records claimed in one round of claiming (see LeaseQueue.claim). */
  claimBatchSize: number;
  /** Leases without an outcome before a record is poison (FAILED); unbounded when unset. */
  maxClaims?: number;
}

/** Gets what one round claimed and when (monotonic ms) that claim was sent. */
export type ClaimHandler = (claimed: ClaimedTransaction[], claimSentAt: number) => Promise<void>;

/**
 * Claims due records into the free slots, round after round: at once again while there is work,
 * after `pollIntervalMs` when there is none (or earlier, when a slot frees up), with backoff when
 * the database fails. Poison records the queue failed instead of leasing are logged here.
 */
export class ClaimLoop {
  private running = false;
  private loop: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;

  constructor(
    private readonly queue: LeaseQueue,
    private readonly logger: Logger,
    private readonly observer: WorkerObserver,
    private readonly options: ClaimLoopOptions,
    /** Records in flight now: the loop claims no more than concurrency minus this. */
    private readonly inFlight: () => number,
    private readonly handle: ClaimHandler,
  ) {}

  /** False once stop() was called: a handler then gives fresh records back instead of starting them. */
  get isRunning(): boolean {
    return this.running;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Stops claiming; resolves once the round on its way (and its handler) is done. */
  async stop(): Promise<void> {
    this.running = false;
    this.wake();
    await this.loop;
  }

  /** A slot freed up (or stop was called): cut the idle wait short. */
  wake(): void {
    this.wakeUp?.();
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (this.running) {
      const room = Math.min(this.options.claimBatchSize, this.options.concurrency - this.inFlight());
      if (room <= 0) {
        await this.idle(this.options.pollIntervalMs); // woken early when a slot frees up
        continue;
      }
      const sentAt = performance.now();
      let claimed: ClaimedTransaction[];
      try {
        const round = await this.queue.claim(
          this.options.workerId,
          this.options.leaseMs,
          room,
          this.options.maxClaims,
        );
        claimed = round.claimed;
        for (const id of round.poisoned) {
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
      for (const record of claimed) {
        this.logger.debug('transaction claimed', {
          transaction_id: record.transaction_id,
          lease_token: record.lease_token,
          claims: record.claims,
        });
        this.observer.claimed?.(record);
      }
      await this.handle(claimed, sentAt);
      // Busy: claim again at once. Idle: wait, without spinning.
      if (claimed.length === 0 && this.running) await this.idle(this.options.pollIntervalMs);
    }
  }

  /** Waits up to `ms`, or less when woken. */
  private idle(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        if (this.wakeUp === done) this.wakeUp = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeUp = done;
    });
  }
}
