/** The launcher's memory settings reach the JVM and the H2 store, and bad values are refused. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { MongoClient } from 'mongodb';
import {
  startEmbeddedMongo,
  tuningFromEnv,
  type EmbeddedMongo,
  type EmbeddedMongoOptions,
} from '../src/index';

function jvmArgsOf(server: EmbeddedMongo): string[] {
  return readFileSync(`/proc/${server.process.pid}/cmdline`, 'utf8').split('\0');
}

/** Runs `task` against a fresh server and stops it whatever happens. */
async function withServer(options: EmbeddedMongoOptions, task: (s: EmbeddedMongo) => Promise<void> | void) {
  const server = await startEmbeddedMongo(options);
  try {
    await task(server);
  } finally {
    await server.stop();
  }
}

it('runs the database JVM with the G1 collector by default, not the stop-the-world serial one, and a fair collection lock', async () => {
  await withServer({}, (server) => {
    const args = jvmArgsOf(server);
    expect(args).toContain('-XX:+UseG1GC');
    expect(args).not.toContain('-XX:+UseSerialGC');
    expect(args).toContain('--fair-collection-lock');
  });
}, 90_000);

it('gives G1 a 20 ms pause goal by default, and another collector none unless one is asked for', async () => {
  // G1's own goal (200 ms) let young pauses of 80-130 ms set the acknowledgements' p99 at 1,000
  // webhooks/s (docs/BENCHMARKS.md, "The stand-in's young pauses").
  await withServer({}, (server) => expect(jvmArgsOf(server)).toContain('-XX:MaxGCPauseMillis=20'));
  await withServer({ gcPauseTargetMs: 200 }, (server) => {
    const args = jvmArgsOf(server);
    expect(args).toContain('-XX:MaxGCPauseMillis=200');
    expect(args).not.toContain('-XX:MaxGCPauseMillis=20');
  });
  await withServer({ gc: 'parallel' }, (server) =>
    expect(jvmArgsOf(server).some((arg) => arg.startsWith('-XX:MaxGCPauseMillis'))).toBe(false),
  );
}, 90_000);

it('passes the chosen collector, heap and H2 cache, and the H2 file still keeps its records', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'txhook-h2-tuning-'));
  const options = {
    backend: 'h2',
    h2File: path.join(dir, 'data.mv'),
    gc: 'parallel',
    gcPauseTargetMs: 50,
    heap: '384m',
    h2CacheMb: 64,
    networkThreads: 8,
    fairCollectionLock: false,
  } as const;
  try {
    await withServer(options, async (server) => {
      const args = jvmArgsOf(server);
      expect(args).toEqual(
        expect.arrayContaining(['-XX:+UseParallelGC', '-Xmx384m', '-XX:MaxGCPauseMillis=50']),
      );
      expect(args[args.indexOf('--h2-cache-mb') + 1]).toBe('64');
      expect(args[args.indexOf('--network-threads') + 1]).toBe('8');
      expect(args).not.toContain('--fair-collection-lock');
      const client = await MongoClient.connect(server.url);
      await client.db('tuning').collection('t').insertOne({ kept: true });
      await client.close();
    });
    await withServer(options, async (server) => {
      const client = await MongoClient.connect(server.url);
      expect(await client.db('tuning').collection('t').countDocuments({ kept: true })).toBe(1);
      await client.close();
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 90_000);

it.each(['zgc', 'shenandoah'] as const)(
  'serves with the concurrent %s collector',
  async (gc) => {
    await withServer({ gc }, async (server) => {
      expect(jvmArgsOf(server)).toContain(gc === 'zgc' ? '-XX:+UseZGC' : '-XX:+UseShenandoahGC');
      const client = await MongoClient.connect(server.url);
      await client.db('tuning').collection('t').insertOne({ gc });
      expect(await client.db('tuning').collection('t').countDocuments({ gc })).toBe(1);
      await client.close();
    });
  },
  90_000,
);

it('refuses a heap, cache, pause goal or thread count it cannot pass on safely', async () => {
  await expect(startEmbeddedMongo({ heap: '1 GB; rm' })).rejects.toThrow(/heap/);
  await expect(startEmbeddedMongo({ backend: 'h2', h2CacheMb: 0 })).rejects.toThrow(/cache/);
  await expect(startEmbeddedMongo({ gcPauseTargetMs: 0 })).rejects.toThrow(/pause/);
  await expect(startEmbeddedMongo({ networkThreads: 0.5 })).rejects.toThrow(/network threads/);
});

it('fails at once, naming the cause, when its port is taken (does not wait out the start timeout)', async () => {
  const holder = net.createServer();
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
  const { port } = holder.address() as net.AddressInfo;
  const started = Date.now();
  try {
    await expect(startEmbeddedMongo({ port, startTimeoutMs: 60_000 })).rejects.toThrow(
      /exited early[\s\S]*Address already in use/,
    );
    // The JVM starts in a few seconds; 60 s would be the start timeout, not the bind failure.
    expect(Date.now() - started).toBeLessThan(30_000);
  } finally {
    holder.close();
  }
}, 90_000);

it('reads its tuning from the environment, and leaves unset variables to the defaults', () => {
  expect(
    tuningFromEnv({
      EMBEDDED_MONGO_GC: 'shenandoah',
      EMBEDDED_MONGO_GC_PAUSE_MS: '50',
      EMBEDDED_MONGO_NETWORK_THREADS: '16',
    }),
  ).toEqual({ gc: 'shenandoah', gcPauseTargetMs: 50, networkThreads: 16 });
  expect(tuningFromEnv({})).toEqual({});
});
