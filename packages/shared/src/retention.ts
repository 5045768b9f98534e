/** How long terminal records (PROCESSED, FAILED) are kept unless RETENTION_DAYS says otherwise. */
export const DEFAULT_RETENTION_DAYS = 30;

const DAY_MS = 86_400_000;

/**
 * When a record that became terminal at `finishedAt` is deleted: `retentionDays` later, or never
 * (null) when `retentionDays` is 0. A redelivery after that is a new transaction to the service.
 */
export function expiryAfter(finishedAt: Date, retentionDays: number): Date | null {
  return retentionDays > 0 ? new Date(finishedAt.getTime() + retentionDays * DAY_MS) : null;
}
