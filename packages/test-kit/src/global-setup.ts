// By path, not by package name: Jest loads global setup with Node's own resolution (no
// moduleNameMapper, no `development` condition), which would want a built dist/ that a fresh
// clone does not have (`npm run test:faults` or a package's `test` before any `tsc -b`).
import { startEmbeddedMongo, type EmbeddedMongo } from '../../embedded-mongo/src/index';

declare global {
  var __EMBEDDED_MONGO__: EmbeddedMongo | undefined;
}

/** Uses MONGODB_URL when given (real MongoDB); otherwise starts the embedded stand-in. */
export default async function globalSetup(): Promise<void> {
  if (process.env.MONGODB_URL) {
    console.log(`\ntests run against MONGODB_URL=${process.env.MONGODB_URL}`);
    return;
  }
  // TEST_EMBEDDED_BACKEND=h2 runs the whole suite on the H2 backend instead of the memory one.
  const backend = process.env.TEST_EMBEDDED_BACKEND === 'h2' ? 'h2' : 'memory';
  // Fault injection on: tests make this server fail, delay or not answer chosen commands of their
  // own clients (failCommand with an appName); nobody else is affected.
  const server = await startEmbeddedMongo({ backend, faultInjection: true });
  globalThis.__EMBEDDED_MONGO__ = server;
  process.env.MONGODB_URL = server.url;
  process.env.TEST_EMBEDDED_MONGO = backend;
  console.log(`\ntests run against the embedded mongo-java-server (${backend} backend) at ${server.url}`);
}
