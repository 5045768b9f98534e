import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');

/** Time beyond one call's length that a worker's SHUTDOWN_GRACE_MS keeps (scheduling, the last write). */
export const CALL_MARGIN_MS = 5_000;

/**
 * The margin an app's main.ts gives itself past SHUTDOWN_GRACE_MS before it exits anyway
 * (`onShutdownSignal(logger, graceMs + N, ...)`, graceMs = shutdownGraceMs(config, app)), read from the source so the
 * deployment checks follow the code.
 */
export function hardStopMarginMs(mainPath: string): number {
  const source = readFileSync(join(root, mainPath), 'utf8');
  const match = /onShutdownSignal\([^,]+,\s*(?:config\.SHUTDOWN_GRACE_MS|graceMs)\s*\+\s*([\d_]+)/.exec(
    source,
  );
  if (!match) throw new Error(`${mainPath}: no onShutdownSignal(…, graceMs + N, …) found`);
  return Number(match[1]!.replace(/_/g, ''));
}
