/**
 * Nearest-rank percentile (p in 0..100) of `values`; null for an empty sample. Computed in Node
 * because the embedded server (MongoDB 4.2 level) has no `$percentile`.
 */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1] ?? null;
}
