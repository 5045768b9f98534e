/**
 * Collects "call finished" events for a few milliseconds and writes them as one fenced update
 * per lease token: thousands of calls that started together also end together, and one round
 * trip each would make the database, not the 30 s call, the wait.
 */
export interface CompletionItem {
  transaction_id: string;
  lease_token: string;
}

export type FinishMany = (items: readonly CompletionItem[]) => Promise<Set<string>>;

interface Pending {
  item: CompletionItem;
  resolve: (finished: boolean) => void;
  reject: (error: unknown) => void;
}

export class CompletionBatcher {
  private pending: Pending[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly finishMany: FinishMany,
    private readonly maxBatch = 500,
    private readonly maxWaitMs = 20,
  ) {}

  /** Resolves true when this record was finished by us, false when its lease was lost. */
  finish(item: CompletionItem): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.pending.push({ item, resolve, reject });
      if (this.pending.length >= this.maxBatch) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.maxWaitMs);
    });
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending.splice(0, this.maxBatch);
    if (this.pending.length > 0) this.timer = setTimeout(() => this.flush(), 0);
    if (batch.length === 0) return;
    this.finishMany(batch.map((p) => p.item)).then(
      (finished) => {
        for (const p of batch) p.resolve(finished.has(p.item.transaction_id));
      },
      (error: unknown) => {
        for (const p of batch) p.reject(error);
      },
    );
  }
}
