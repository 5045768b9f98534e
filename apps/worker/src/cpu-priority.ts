import { getPriority, setPriority } from 'node:os';
import type { Logger } from '@txhook/platform';

/**
 * Lowers this process's CPU priority to `niceness` (never raises it: that needs privileges, and
 * a process started under `nice` keeps what it was given). On Linux the niceness belongs to the
 * thread: set first thing, it covers the event loop and the threads started after it (libuv's
 * pool), where all of the worker's work runs.
 */
export function lowerCpuPriority(niceness: number, logger: Logger): void {
  try {
    if (getPriority() < niceness) setPriority(niceness);
  } catch (error) {
    logger.warn('could not lower the CPU priority (WORKER_NICENESS)', { niceness, error: String(error) });
  }
}
