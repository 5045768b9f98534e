/**
 * Wraps an expensive read so callers within `ttlMs` share one result and concurrent callers
 * share one call. Failures are not kept: the next caller tries again.
 */
export function cached<T>(load: () => Promise<T>, ttlMs: number): () => Promise<T> {
  let value: { at: number; result: T } | undefined;
  let pending: Promise<T> | undefined;
  return () => {
    if (value && performance.now() - value.at < ttlMs) return Promise.resolve(value.result);
    pending ??= load()
      .then((result) => {
        value = { at: performance.now(), result };
        return result;
      })
      .finally(() => {
        pending = undefined;
      });
    return pending;
  };
}
