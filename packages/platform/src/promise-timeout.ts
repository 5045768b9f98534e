/**
 * Settles as `promise` does, or rejects with "`what` timed out after `ms` ms" if it has not settled
 * by then (with `errorOf`'s error when given). The promise itself is not cancelled (its work may still finish later): use it for
 * checks whose answer is worthless when late, such as probes.
 */
export async function withTimeout<T>(
  promise: Promise<T>,
  ms: number,
  what: string,
  errorOf: (message: string) => Error = (message) => new Error(message),
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(errorOf(`${what} timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
