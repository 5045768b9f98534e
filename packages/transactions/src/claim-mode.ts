/**
 * How a worker claims: `single` = one atomic findOneAndUpdate per record (the design's lease
 * primitive), several in flight to fill the free slots; `batch` = find the oldest due ids, stamp
 * them with one token in an updateMany, read back. docs/BENCHMARKS.md says which is faster where.
 */
export const CLAIM_MODES = ['single', 'batch'] as const;
export type ClaimMode = (typeof CLAIM_MODES)[number];
/** The worker's claim mode unless CLAIM_MODE says otherwise: chosen by measurement (docs/BENCHMARKS.md). */
export const DEFAULT_CLAIM_MODE: ClaimMode = 'batch';
