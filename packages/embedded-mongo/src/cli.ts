/**
 * `pnpm db [--backend memory|h2] [--h2-file PATH] [--h2-cache-mb N] [--heap 1g]
 *  [--gc g1|parallel|serial|zgc|shenandoah] [--no-secondary-indexes]`:
 * runs only the embedded MongoDB stand-in and prints its URL. Each flag falls back to its variable:
 * EMBEDDED_MONGO_PORT (default 27017), EMBEDDED_MONGO_BACKEND (memory | h2), EMBEDDED_MONGO_H2_FILE,
 * EMBEDDED_MONGO_H2_CACHE_MB, EMBEDDED_MONGO_HEAP, EMBEDDED_MONGO_GC, EMBEDDED_MONGO_SECONDARY_INDEXES
 * (false: the library's scans instead of the launcher's secondary indexes, to compare). Set only by
 * variable: EMBEDDED_MONGO_GC_PAUSE_MS, EMBEDDED_MONGO_NETWORK_THREADS (docs/CONFIGURATION.md).
 */
import { parseArgs } from 'node:util';
import { startEmbeddedMongo, tuningFromEnv, type EmbeddedBackend, type EmbeddedGc } from './index';

async function main(): Promise<void> {
  const { values: flags } = parseArgs({
    options: {
      port: { type: 'string' },
      backend: { type: 'string' },
      'h2-file': { type: 'string' },
      'h2-cache-mb': { type: 'string' },
      heap: { type: 'string' },
      gc: { type: 'string' },
      'no-secondary-indexes': { type: 'boolean' },
    },
  });
  const backend = (flags.backend ?? process.env.EMBEDDED_MONGO_BACKEND ?? 'memory') as EmbeddedBackend;
  if (backend !== 'memory' && backend !== 'h2') {
    throw new Error('EMBEDDED_MONGO_BACKEND must be memory or h2');
  }
  const port = Number(flags.port ?? process.env.EMBEDDED_MONGO_PORT ?? 27017);
  const h2File = flags['h2-file'] ?? process.env.EMBEDDED_MONGO_H2_FILE;
  const server = await startEmbeddedMongo({
    port,
    backend,
    ...(h2File ? { h2File } : {}),
    ...tuningFromEnv(process.env),
    ...(flags['h2-cache-mb'] ? { h2CacheMb: Number(flags['h2-cache-mb']) } : {}),
    ...(flags.heap ? { heap: flags.heap } : {}),
    ...(flags.gc ? { gc: flags.gc as EmbeddedGc } : {}),
    ...(flags['no-secondary-indexes'] ? { secondaryIndexes: false } : {}),
  });
  console.log(`embedded MongoDB (mongo-java-server, ${backend} backend) ready: ${server.url}`);
  console.log(`use it with: MONGODB_URL=${server.url}   (Ctrl-C stops it)`);
  const stop = () => void server.stop().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  server.process.once('exit', (code) => process.exit(code ?? 1));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
