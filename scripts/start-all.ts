/**
 * `pnpm start`: one command for the whole service. Uses MONGODB_URL when set; otherwise starts the
 * embedded MongoDB stand-in (mongo-java-server) first. Then runs the API and WORKERS worker
 * processes (default 1), prefixes their output, and on Ctrl-C / SIGTERM stops them gracefully and
 * the database last. Workers share the host: each finds its own metrics port and logs it.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import {
  startEmbeddedMongo,
  tuningFromEnv,
  type EmbeddedBackend,
  type EmbeddedMongo,
} from '@txhook/embedded-mongo';
import { APP_ENTRIES, launch, REPO_ROOT, type AppKind, type AppProcess } from '@txhook/test-kit/launcher';

/** Runs an app from source, with its node flags, its output prefixed by `name`; nothing kept in memory. */
function run(name: string, kind: AppKind, env: NodeJS.ProcessEnv): AppProcess {
  const { source, nodeFlags } = APP_ENTRIES[kind];
  return launch({
    name,
    entry: source,
    nodeArgs: nodeFlags,
    env,
    keepOutput: false,
    onLine: (line) => console.log(`[${name}] ${line}`),
  });
}

/** WORKERS: how many worker processes to run (1 by default). */
function workerCount(value: string | undefined): number {
  if (value === undefined || value === '') return 1;
  const count = Number(value);
  if (!Number.isInteger(count) || count < 1 || count > 64) {
    throw new Error(`WORKERS must be a whole number from 1 to 64 (got ${JSON.stringify(value)})`);
  }
  return count;
}

async function main(): Promise<void> {
  const workers = workerCount(process.env.WORKERS);
  let database: EmbeddedMongo | undefined;
  const env = { ...process.env };
  if (!env.MONGODB_URL) {
    // H2 with a data file by default, so accepted webhooks survive a restart; `memory` on request.
    const backend = (env.EMBEDDED_MONGO_BACKEND ?? 'h2') as EmbeddedBackend;
    const h2File =
      env.EMBEDDED_MONGO_H2_FILE ?? path.join(REPO_ROOT, '.cache', 'embedded-mongo', 'txhook.mv');
    if (backend === 'h2') mkdirSync(path.dirname(h2File), { recursive: true });
    database = await startEmbeddedMongo({
      port: Number(env.EMBEDDED_MONGO_PORT ?? 0),
      backend,
      ...(backend === 'h2' ? { h2File } : {}),
      ...tuningFromEnv(env),
    });
    env.MONGODB_URL = database.url;
    console.log(
      `[db] embedded MongoDB stand-in (mongo-java-server, ${backend} backend, pid ${database.process.pid}) at ${database.url}` +
        (backend === 'h2' ? ` — data in ${h2File}` : ''),
    );
  } else {
    console.log('[db] using MONGODB_URL from the environment');
  }

  const children = [
    run('api', 'api', env),
    ...Array.from({ length: workers }, (_, i) =>
      run(workers === 1 ? 'worker' : `worker-${i + 1}`, 'worker', env),
    ),
  ];
  let stopping = false;
  const stopAll = async (exitCode: number) => {
    if (stopping) return;
    stopping = true;
    for (const child of children) child.kill('SIGTERM');
    await Promise.all(children.map((child) => child.exited));
    await database?.stop();
    process.exit(exitCode);
  };
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));
  for (const child of children) {
    void child.exited.then(({ code }) => {
      if (!stopping) {
        console.error(`a service exited unexpectedly (code ${code}); stopping the others`);
        void stopAll(1);
      }
    });
  }
  database?.process.once('exit', () => {
    if (!stopping) {
      console.error('the embedded database exited unexpectedly; stopping the others');
      void stopAll(1);
    }
  });
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
