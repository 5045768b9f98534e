import { randomBytes } from 'node:crypto';
import { MongoClient, type MongoClientOptions } from 'mongodb';
import { clearFault, injectFault, type CommandFault } from '@txhook/embedded-mongo';
import { openTestDatabase, type TestDatabase } from './database';

/**
 * A test database whose client announces an appName of its own, so faults injected into the real
 * server (the embedded one with fault injection on, or mongod with enableTestCommands) hit only
 * this client's commands. `control` is a second client that sets and clears them.
 */
export interface FaultableDatabase extends TestDatabase {
  appName: string;
  /** Makes the server misbehave for this database client's commands named in `fault`. */
  inject(fault: Omit<CommandFault, 'appName'>): Promise<void>;
  clear(): Promise<void>;
}

export async function openFaultableDatabase(
  label: string,
  clientOptions: MongoClientOptions = {},
): Promise<FaultableDatabase> {
  const appName = `faults_${label}_${randomBytes(4).toString('hex')}`;
  const database = await openTestDatabase(label, { ...clientOptions, appName });
  const control = await MongoClient.connect(database.url, { serverSelectionTimeoutMS: 10_000 });
  return {
    ...database,
    appName,
    inject: (fault) => injectFault(control, { ...fault, appName }),
    clear: () => clearFault(control),
    async drop() {
      // Cleared first, so the drop itself is not the command a fault holds up.
      await clearFault(control).catch(() => undefined);
      await database.drop();
      await control.close();
    },
  };
}
