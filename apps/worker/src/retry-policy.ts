/** When a failed external call is tried again, and when a record gives up. */
export interface RetryPolicyOptions {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Source of jitter in [0, 1); Math.random by default. */
  random?: () => number;
}

export class RetryPolicy {
  private readonly random: () => number;

  constructor(private readonly options: RetryPolicyOptions) {
    this.random = options.random ?? Math.random;
  }

  /** True when `attemptsMade` attempts used the whole budget: the record becomes FAILED. */
  isExhausted(attemptsMade: number): boolean {
    return attemptsMade >= this.options.maxAttempts;
  }

  /**
   * Exponential backoff with "equal jitter": half the capped delay for sure, the other half at
   * random, so retries of records that failed together (an outage) spread out instead of
   * stampeding back at the same instant.
   */
  delayAfter(attemptsMade: number): number {
    const exponential = this.options.baseDelayMs * 2 ** Math.max(0, attemptsMade - 1);
    const capped = Math.min(this.options.maxDelayMs, exponential);
    return Math.round(capped / 2 + this.random() * (capped / 2));
  }
}
