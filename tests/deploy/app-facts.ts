/** Time beyond one call's length that a worker's SHUTDOWN_GRACE_MS keeps (scheduling, the last write). */
export const CALL_MARGIN_MS = 5_000;
