/**
 * `pnpm db`: runs only the embedded MongoDB stand-in and prints its URL.
 * EMBEDDED_MONGO_PORT (default 27017), EMBEDDED_MONGO_BACKEND (memory | h2), EMBEDDED_MONGO_H2_FILE.
 */
import { startEmbeddedMongo, type EmbeddedBackend } from './index';

async function main(): Promise<void> {
  const backend = (process.env.EMBEDDED_MONGO_BACKEND ?? 'memory') as EmbeddedBackend;
  if (backend !== 'memory' && backend !== 'h2') {
    throw new Error('EMBEDDED_MONGO_BACKEND must be memory or h2');
  }
  const port = Number(process.env.EMBEDDED_MONGO_PORT ?? 27017);
  const server = await startEmbeddedMongo({
    port,
    backend,
    ...(process.env.EMBEDDED_MONGO_H2_FILE ? { h2File: process.env.EMBEDDED_MONGO_H2_FILE } : {}),
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
