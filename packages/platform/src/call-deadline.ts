import type { MongoSettings } from './config';
import { DatabaseNotReadyError } from './mongo';
import { withTimeout } from './promise-timeout';

/**
 * `target` as it is, except that every promise its methods return settles within `ms`: past it,
 * the caller gets a DatabaseNotReadyError (a transient database error: back off and retry) while
 * the late promise is left to settle unobserved. For objects whose every async method is one
 * database operation: the driver's own timeouts do not bound all of them. Seen with mongodb 6.22
 * (and the same code in 7.9): a command written to a socket destroyed in the same tick waits for a
 * 'drain' event that never comes, and without timeoutMS nothing ends that wait.
 */
export function withCallDeadlines<T extends object>(target: T, ms: number, name: string): T {
  return new Proxy(target, {
    get(object, property, receiver) {
      const value: unknown = Reflect.get(object, property, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]): unknown => {
        const result: unknown = (value as (...a: unknown[]) => unknown).apply(object, args);
        if (!(result instanceof Promise)) return result;
        return withTimeout(
          result,
          ms,
          `${name}.${String(property)}`,
          (message) => new DatabaseNotReadyError(message),
        );
      };
    },
  });
}

/**
 * The bound both apps put on one call of theirs into the database: two round trips
 * (MONGODB_TIMEOUT_MS each), so an operation that the driver retries once still completes.
 */
export function databaseCallDeadlineMs(config: Pick<MongoSettings, 'MONGODB_TIMEOUT_MS'>): number {
  return 2 * config.MONGODB_TIMEOUT_MS;
}
