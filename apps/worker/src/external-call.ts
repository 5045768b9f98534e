/** Thrown when a call is given up because the worker is shutting down. */
export class CallAbortedError extends Error {
  constructor() {
    super('external call aborted');
    this.name = 'CallAbortedError';
  }
}

/**
 * The slow external call of the product, simulated: it only waits `delayMs`. It is pure I/O wait,
 * so one process runs thousands of them at once. Aborting rejects with CallAbortedError.
 */
export function simulateExternalCall(delayMs: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(new CallAbortedError());
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(new CallAbortedError());
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, delayMs);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
