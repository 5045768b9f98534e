import { APP_ENTRIES } from '@txhook/test-kit/launcher';

/** Time beyond one call's length that a worker's SHUTDOWN_GRACE_MS keeps (scheduling, the last write). */
export const CALL_MARGIN_MS = 5_000;

/** How a deployed container runs an app: node, the app's flags (as every launch), its built entry. */
export function deployedCommand(app: keyof typeof APP_ENTRIES): string[] {
  return ['node', ...APP_ENTRIES[app].nodeFlags, APP_ENTRIES[app].compiled];
}
