/**
 * Settles as `promise` does, or rejects with "`what` timed out after `ms` ms" if it has not settled
 * by then. The promise itself is not cancelled (its work may still finish later): use it for
 * checks whose answer is worthless when late, such as probes.
 */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
