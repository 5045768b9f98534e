import { startEmbeddedMongo, type EmbeddedMongo } from '@txhook/embedded-mongo';

declare global {
  var __EMBEDDED_MONGO__: EmbeddedMongo | undefined;
}

/** Uses MONGODB_URL when given (real MongoDB); otherwise starts the embedded stand-in. */
export default async function globalSetup(): Promise<void> {
  if (process.env.MONGODB_URL) {
    console.log(`\ntests run against MONGODB_URL=${process.env.MONGODB_URL}`);
    return;
  }
  const server = await startEmbeddedMongo({ backend: 'memory' });
  globalThis.__EMBEDDED_MONGO__ = server;
  process.env.MONGODB_URL = server.url;
  process.env.TEST_EMBEDDED_MONGO = 'memory';
  console.log(`\ntests run against the embedded mongo-java-server at ${server.url}`);
}
