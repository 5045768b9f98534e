/**
 * Collects items that callers submit one by one and hands them to `run` in batches: when
 * `maxBatch` are waiting, or when the wait is over (`maxWaitMs`; 0 = the end of this turn of the
 * event loop). Many concurrent callers then cost one database round trip instead of one each,
 * and each caller still learns its own outcome: `run` settles every item of its batch, in order
 * (as Promise.allSettled does); if `run` itself rejects, every item of the batch rejects with it.
 */
export type BatchRun<Item, Result> = (
  items: readonly Item[],
) => Promise<readonly PromiseSettledResult<Result>[]>;

export interface BatcherOptions {
  maxBatch: number;
  /** How long the first item of a batch waits for company; 0 = until the current turn ends. */
  maxWaitMs: number;
}

interface Pending<Item, Result> {
  item: Item;
  resolve: (result: Result) => void;
  reject: (error: unknown) => void;
}

export class Batcher<Item, Result> {
  private queue: Pending<Item, Result>[] = [];
  /** Cancels the scheduled flush; set while one is scheduled. */
  private cancelFlush: (() => void) | undefined;

  constructor(
    private readonly run: BatchRun<Item, Result>,
    private readonly options: BatcherOptions,
  ) {}

  add(item: Item): Promise<Result> {
    return new Promise((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (this.queue.length >= this.options.maxBatch) this.flush();
      else this.cancelFlush ??= this.schedule();
    });
  }

  private schedule(): () => void {
    if (this.options.maxWaitMs > 0) {
      const timer = setTimeout(() => this.flush(), this.options.maxWaitMs);
      return () => clearTimeout(timer);
    }
    const immediate = setImmediate(() => this.flush());
    return () => clearImmediate(immediate);
  }

  private flush(): void {
    this.cancelFlush?.();
    this.cancelFlush = undefined;
    while (this.queue.length > 0) void this.settle(this.queue.splice(0, this.options.maxBatch));
  }

  private async settle(batch: Pending<Item, Result>[]): Promise<void> {
    let outcomes: readonly PromiseSettledResult<Result>[];
    try {
      outcomes = await this.run(batch.map((pending) => pending.item));
    } catch (error) {
      for (const pending of batch) pending.reject(error);
      return;
    }
    batch.forEach((pending, index) => {
      const outcome = outcomes[index];
      if (outcome === undefined) pending.reject(new Error('batch run settled fewer items than it was given'));
      else if (outcome.status === 'fulfilled') pending.resolve(outcome.value);
      else pending.reject(outcome.reason);
    });
  }
}

/** A settled outcome of one item (for BatchRun implementations). */
export const fulfilled = <Result>(value: Result): PromiseFulfilledResult<Result> => ({
  status: 'fulfilled',
  value,
});
export const rejected = (reason: unknown): PromiseRejectedResult => ({ status: 'rejected', reason });
