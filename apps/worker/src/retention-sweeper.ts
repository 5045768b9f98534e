import type { Logger } from '@txhook/platform';
import type { TransactionStore } from '@txhook/transactions';

export interface RetentionSweeperOptions {
  /** Pause between sweeps. */
  intervalMs: number;
  /** Most records one delete removes, so a large backlog never becomes one huge write. */
  batchSize?: number;
  /** Told how many records each delete removed (metrics). */
  onDeleted?: (count: number) => void;
}

/**
 * Deletes expired terminal records (see TransactionStore.deleteExpired), batch after batch
 * until none is left, then waits `intervalMs`. MongoDB's TTL index does the same on its own; the
 * embedded server has no TTL monitor, and on MongoDB a sweep finding nothing costs one index read.
 * Every worker sweeps: deletes of the same record by two workers are harmless.
 */
export class RetentionSweeper {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private sweeping: Promise<void> = Promise.resolve();
  private readonly batchSize: number;

  constructor(
    private readonly repository: TransactionStore,
    private readonly logger: Logger,
    private readonly options: RetentionSweeperOptions,
  ) {
    this.batchSize = options.batchSize ?? 500;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(0);
  }

  /** Stops after the batch in progress, if any. */
  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    await this.sweeping;
  }

  /** One sweep: deletes batches until fewer than a batch are expired. Returns how many. */
  async sweep(): Promise<number> {
    let deleted = 0;
    while (this.running) {
      const count = await this.repository.deleteExpired(this.batchSize);
      deleted += count;
      if (count > 0) this.options.onDeleted?.(count);
      if (count < this.batchSize) break;
    }
    if (deleted > 0) this.logger.info('expired records deleted', { deleted });
    return deleted;
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => {
      this.sweeping = this.sweep().then(
        () => undefined,
        // The next sweep tries again; retention is not urgent.
        (error: unknown) => {
          this.logger.warn('retention sweep failed', { error: String(error) });
        },
      );
      void this.sweeping.then(() => {
        if (this.running) this.schedule(this.options.intervalMs);
      });
    }, delayMs);
    this.timer.unref();
  }
}
