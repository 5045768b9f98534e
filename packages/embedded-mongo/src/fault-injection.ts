import type { Document, MongoClient } from 'mongodb';

/**
 * What the server does to the commands a fault names: the subset of MongoDB's `failCommand` fail
 * point that the embedded server implements (started with `faultInjection: true`) and that mongod
 * has when started with `--setParameter enableTestCommands=1`, so a test runs against either.
 */
export interface CommandFault {
  /** Command names, as the first key of the command: insert, find, aggregate, createIndexes… */
  commands: readonly string[];
  /** Only connections whose client announced this appName (keeps other tests' clients unaffected). */
  appName?: string;
  /** How many matching commands to affect; unset = until cleared. */
  times?: number;
  /** Answer `{ ok: 0, code }` without running the command (e.g. 50 MaxTimeMSExpired, 85). */
  errorCode?: number;
  /** Run the command, then append this writeConcernError to the reply. */
  writeConcernError?: { code: number; codeName?: string; errmsg: string; errInfo?: Document };
  /** Hold the reply back this long (a slow server); past the client's socket timeout, a stall. */
  delayMs?: number;
  /** Close the connection instead of answering (a network error for the client). */
  closeConnection?: boolean;
}

/** The writeConcernError of a replica set whose secondaries did not confirm in time. */
export const WRITE_CONCERN_TIMEOUT = {
  code: 64,
  codeName: 'WriteConcernFailed',
  errmsg: 'waiting for replication timed out',
  errInfo: { wtimeout: true },
} as const;

/** Server error codes the service must handle, as real MongoDB sends them. */
export const ServerErrorCode = {
  MaxTimeMSExpired: 50,
  IndexOptionsConflict: 85,
  IndexKeySpecsConflict: 86,
} as const;

/** Makes the server misbehave for the commands `fault` names (replaces any previous fault). */
export async function injectFault(client: MongoClient, fault: CommandFault): Promise<void> {
  const data: Document = { failCommands: [...fault.commands] };
  if (fault.appName !== undefined) data.appName = fault.appName;
  if (fault.errorCode !== undefined) data.errorCode = fault.errorCode;
  if (fault.writeConcernError !== undefined) data.writeConcernError = fault.writeConcernError;
  if (fault.delayMs !== undefined) Object.assign(data, { blockConnection: true, blockTimeMS: fault.delayMs });
  if (fault.closeConnection) data.closeConnection = true;
  await client.db('admin').command({
    configureFailPoint: 'failCommand',
    mode: fault.times === undefined ? 'alwaysOn' : { times: fault.times },
    data,
  });
}

/** Back to normal behaviour. */
export async function clearFault(client: MongoClient): Promise<void> {
  await client.db('admin').command({ configureFailPoint: 'failCommand', mode: 'off' });
}
