/**
 * The stand-in runs each connection's commands on a network thread, one command after another.
 * With netty's default (2 threads per core: 4 here) every thread serves many connections, so an
 * insert of the API waited for the whole of a worker's bulk write that happened to share its
 * thread: hundreds of milliseconds, and acknowledgements over 500 ms (docs/BENCHMARKS.md). MongoDB
 * itself gives each connection a thread of its own; so does the launcher, up to its default.
 */
import { MongoClient } from 'mongodb';
import { EMBEDDED_DEFAULTS, startEmbeddedMongo, type EmbeddedMongoOptions } from '../src/index';

/** Connections that insert while the long command runs: with 4 threads, several share its thread. */
const INSERTERS = 32;
const SCANNED = 250_000;

interface Outcome {
  /** How long the long command (a scan of another collection) took. */
  scanMs: number;
  /** The slowest single insert while it ran. */
  slowestInsertMs: number;
}

/**
 * A query that scans another collection (its own lock, so the inserts never wait for that) runs
 * while 32 connections insert: an insert waits for it only when its connection shares its thread.
 */
async function insertsDuringALongCommand(options: EmbeddedMongoOptions): Promise<Outcome> {
  const server = await startEmbeddedMongo(options);
  const scanClient = await MongoClient.connect(server.url, { maxPoolSize: 1 });
  const insertClient = await MongoClient.connect(server.url, { maxPoolSize: INSERTERS });
  try {
    const scanned = scanClient.db('threads').collection('scanned');
    for (let start = 0; start < SCANNED; start += 1_000) {
      await scanned.insertMany(
        Array.from({ length: 1_000 }, (_, i) => ({ n: start + i, text: `record ${start + i}` })),
      );
    }
    const inserts = insertClient.db('threads').collection('inserts');
    // Opens all of the pool's connections before the scan starts.
    await Promise.all(Array.from({ length: INSERTERS }, () => inserts.insertOne({ warm: true })));

    let scanDone = false;
    let slowestInsertMs = 0;
    const inserters = Array.from({ length: INSERTERS }, async (_, inserter) => {
      for (let n = 0; !scanDone; n++) {
        const started = performance.now();
        await inserts.insertOne({ inserter, n });
        slowestInsertMs = Math.max(slowestInsertMs, performance.now() - started);
      }
    });
    const started = performance.now();
    await scanned.countDocuments({ text: { $regex: 'matches nothing$' } });
    const scanMs = performance.now() - started;
    scanDone = true;
    await Promise.all(inserters);
    return { scanMs, slowestInsertMs };
  } finally {
    await Promise.all([scanClient.close(), insertClient.close()]);
    await server.stop();
  }
}

it('runs at least 64 network threads by default, so that connections seldom share one', () => {
  expect(EMBEDDED_DEFAULTS.networkThreads).toBeGreaterThanOrEqual(64);
});

it('does not hold an insert on one connection for the whole of a long command on another', async () => {
  const shared = await insertsDuringALongCommand({ networkThreads: 4 });
  const own = await insertsDuringALongCommand({});
  console.log(`long command: 4 threads ${JSON.stringify(shared)}; default ${JSON.stringify(own)}`);
  // The condition: with 4 threads some inserter shares the scan's thread and waits for most of it.
  expect(shared.scanMs).toBeGreaterThan(500);
  expect(shared.slowestInsertMs).toBeGreaterThan(shared.scanMs / 2);
  // With a thread per connection no insert waits for it.
  expect(own.slowestInsertMs).toBeLessThan(own.scanMs / 3);
}, 120_000);
