import { wholeNumber } from '@txhook/platform';

/** How long terminal records (PROCESSED, FAILED) are kept unless RETENTION_DAYS says otherwise. */
export const DEFAULT_RETENTION_DAYS = 30;

/** Both apps read it: the worker stamps and sweeps expiries, the API's store and queries use it too. */
export const retentionConfigShape = {
  /**
   * Days a PROCESSED or FAILED record is kept before it is deleted (TTL index, plus the worker's
   * sweep); 0 = keep forever. A redelivery after deletion is stored and processed as new.
   */
  RETENTION_DAYS: wholeNumber(0, 36_500, DEFAULT_RETENTION_DAYS),
};

const DAY_MS = 86_400_000;

/**
 * When a record that became terminal at `finishedAt` is deleted: `retentionDays` later, or never
 * (null) when `retentionDays` is 0. A redelivery after that is a new transaction to the service.
 */
export function expiryAfter(finishedAt: Date, retentionDays: number): Date | null {
  return retentionDays > 0 ? new Date(finishedAt.getTime() + retentionDays * DAY_MS) : null;
}
