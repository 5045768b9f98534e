import { setTimeout as delay } from 'node:timers/promises';
import {
  MongoBulkWriteError,
  MongoClient,
  MongoError,
  MongoNetworkError,
  MongoNotConnectedError,
  MongoServerError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
  MongoWriteConcernError,
  type BulkWriteResult,
  type Document,
  type MongoClientOptions,
  type WriteConcernError,
  type WriteError,
} from 'mongodb';
import type { MongoSettings } from './config';
import { withTimeout } from './promise-timeout';

/**
 * One client per process. Writes wait for a majority and the journal, so an acknowledged
 * record survives a primary failover; server selection fails fast so callers can answer 503.
 */
export function createMongoClient(
  config: Omit<MongoSettings, 'MONGODB_DB'>,
  overrides: MongoClientOptions = {},
): MongoClient {
  const w = config.MONGODB_WRITE_CONCERN === 'majority' ? 'majority' : Number(config.MONGODB_WRITE_CONCERN);
  return new MongoClient(config.MONGODB_URL, {
    appName: 'txhook',
    // A server that stops answering (hung, partitioned) must fail calls, not hang them: the
    // socket and connect timeouts bound every round trip, server selection bounds a server that is gone.
    serverSelectionTimeoutMS: config.MONGODB_TIMEOUT_MS,
    connectTimeoutMS: config.MONGODB_TIMEOUT_MS,
    socketTimeoutMS: config.MONGODB_TIMEOUT_MS,
    maxPoolSize: 50,
    writeConcern: { w, journal: config.MONGODB_JOURNAL },
    retryWrites: true,
    ...overrides,
  });
}

/** Resolves when the server answers a ping within `timeoutMs`, rejects otherwise. */
export async function pingDatabase(client: MongoClient, timeoutMs: number): Promise<void> {
  await withTimeout(client.db('admin').command({ ping: 1 }), timeoutMs, 'database ping');
}

/**
 * The database is reachable but set up in a way the service cannot work with (e.g. an index in the
 * way of ours): retrying cannot help, an operator must act, so start-up stops with this message.
 */
export class DatabaseSetupError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'DatabaseSetupError';
  }
}

/**
 * The database answered, but could not confirm what the caller needs right now (e.g. a stored
 * record not yet readable at majority): a transient condition, answered 503 so the sender retries.
 */
export class DatabaseNotReadyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DatabaseNotReadyError';
  }
}

/**
 * Connects, retrying with backoff until the server answers, then runs `prepare` (index creation).
 * The database may come up after us (compose, restarts, outages): wait instead of crash-looping.
 * connect() is called on every attempt because a client whose first connect failed stays closed.
 * A DatabaseSetupError is not retried: it is thrown, for the process to exit with its message.
 */
export async function connectWithRetry(
  client: MongoClient,
  prepare: () => Promise<void>,
  onRetry: (attempt: number, error: unknown) => void,
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await client.connect();
      await prepare();
      return;
    } catch (error) {
      if (error instanceof DatabaseSetupError) throw error;
      onRetry(attempt, error);
      await delay(backoffMs(attempt, 250));
    }
  }
}

/**
 * Server codes for "this node cannot take the operation right now" (failover, shutdown) and for
 * "not within the time allowed" (50 MaxTimeMSExpired, 262 ExceededTimeLimit): an overloaded or
 * slow server, worth a retry later.
 */
const UNAVAILABLE_CODES = new Set([6, 7, 50, 89, 91, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436]);

/**
 * True for errors that mean "the database is unreachable or not answering right now" (callers
 * answer 503 or back off), as opposed to a bug or a bad request. A write-concern error counts: the
 * write was not durably acknowledged, so it must not be reported as stored.
 */
export function isTransientDatabaseError(error: unknown): boolean {
  if (
    error instanceof MongoNetworkError ||
    error instanceof MongoServerSelectionError ||
    error instanceof MongoNotConnectedError ||
    error instanceof MongoTopologyClosedError ||
    error instanceof MongoWriteConcernError ||
    error instanceof DatabaseNotReadyError
  ) {
    return true;
  }
  // Driver 6 reports a write-concern error of insertMany/bulkWrite only on the bulk result: the
  // error has no writeConcernError property, empty writeErrors and the write-concern code as code.
  if (error instanceof MongoBulkWriteError && bulkWriteConcernErrorOf(error) !== undefined) return true;
  // A bulk write that failed as a whole, with no per-document error: the batch never reached a
  // server that could take it (insertMany wraps a closed topology or a network failure this way).
  if (
    error instanceof MongoBulkWriteError &&
    bulkWriteErrorsOf(error).length === 0 &&
    error.code === undefined
  ) {
    return true;
  }
  if (
    error instanceof MongoServerError &&
    typeof error.code === 'number' &&
    UNAVAILABLE_CODES.has(error.code)
  ) {
    return true;
  }
  return error instanceof MongoError && error.hasErrorLabel('RetryableWriteError');
}

/**
 * The per-document errors of a bulk write. Read from the bulk result: with a write-concern error
 * the driver leaves `error.writeErrors` empty even when documents failed.
 */
export function bulkWriteErrorsOf(error: MongoBulkWriteError): WriteError[] {
  const fromResult = (error.result as Partial<BulkWriteResult> | undefined)?.getWriteErrors?.();
  return fromResult ?? ([] as WriteError[]).concat(error.writeErrors);
}

/** The write-concern error of a bulk write (not met: nothing of it is durably acknowledged). */
export function bulkWriteConcernErrorOf(
  error: MongoBulkWriteError,
): WriteConcernError | Document | undefined {
  const result = error.result as Partial<BulkWriteResult> | undefined;
  return result?.getWriteConcernError?.() ?? error.writeConcernError;
}

/** Wait before retry `attempt` (1, 2, …) of a database operation: doubling from `baseMs`, capped. */
export function backoffMs(attempt: number, baseMs: number, capMs = 5_000): number {
  return Math.min(capMs, baseMs * 2 ** attempt);
}
