import type { ClaimedTransaction } from '@txhook/transactions';

/** Runs the external call for one claimed record; must reject with CallAbortedError on abort. */
export type ExternalCall = (record: ClaimedTransaction, signal: AbortSignal) => Promise<void>;

/** Thrown when a call is given up (shutdown, lost lease, deadline: the worker knows which). */
export class CallAbortedError extends Error {
  constructor() {
    super('external call aborted');
    this.name = 'CallAbortedError';
  }
}

/** The external call answered with a failure (or, simulated, was made to fail). */
export class ExternalCallError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExternalCallError';
  }
}

/** Waits `ms`; rejects with CallAbortedError as soon as `signal` aborts. */
export function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
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
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export interface SimulatedCallOptions {
  delayMs: number;
  /** Share of calls that fail after their delay, for fault injection (0 = never). */
  failureRate: number;
  /** Random source for the failures; seed it (see seededRandom) to make a run reproducible. */
  random?: () => number;
}

/**
 * The product's slow external call, simulated: pure I/O wait, so one process runs thousands at
 * once. With a failure rate it fails like a real dependency would: after taking its time.
 */
export function simulatedExternalCall(options: SimulatedCallOptions): ExternalCall {
  const random = options.random ?? Math.random;
  // Without failures the delay is the call: no async frame around it, held for the whole delay by
  // each of thousands of calls in flight.
  if (options.failureRate <= 0) return (_record, signal) => abortableDelay(options.delayMs, signal);
  return async (_record, signal) => {
    await abortableDelay(options.delayMs, signal);
    if (random() < options.failureRate) throw new ExternalCallError('simulated external call failure');
  };
}

/**
 * FAULT INJECTION, tests only (FAULT_CRASH_ON_ID_PREFIX): the process exits the moment it starts
 * the call of a matching transaction, as a call that crashes its worker would. Never set in production.
 */
export function crashingOnIdPrefix(call: ExternalCall, prefix: string, crash: () => never): ExternalCall {
  return (record, signal) => (record.transaction_id.startsWith(prefix) ? crash() : call(record, signal));
}

/** A small deterministic PRNG (mulberry32): the same seed gives the same sequence. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
