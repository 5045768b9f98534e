import { ConfigError } from './config';
import type { Logger } from './logger';

/**
 * Runs `shutdown` once on the first SIGTERM or SIGINT, then exits 0 (1 if it failed). Installed
 * first thing at start-up so a signal during start-up (e.g. while waiting for the database) is
 * honoured too. `hardTimeoutMs` bounds the whole shutdown: the process always exits.
 */
export function onShutdownSignal(
  logger: Logger,
  hardTimeoutMs: number,
  shutdown: (signal: NodeJS.Signals) => Promise<void>,
): void {
  let stopping = false;
  const handle = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info('shutting down', { signal });
    setTimeout(() => {
      logger.error('shutdown took too long, exiting', { timeout_ms: hardTimeoutMs });
      process.exit(1);
    }, hardTimeoutMs).unref();
    shutdown(signal).then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error('shutdown failed', { error: String(error) });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', handle);
  process.on('SIGINT', handle);
}

/**
 * Runs an app's composition root. A start-up failure exits 1; a ConfigError prints only its message
 * (it names every bad variable, a stack trace would only hide that), anything else in full.
 */
export function runMain(main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    console.error(error instanceof ConfigError ? error.message : error);
    process.exit(1);
  });
}
