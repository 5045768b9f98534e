/** The bench reads the database JVM's stops from a real JVM's log, in the window it is asked about. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import { startEmbeddedMongo } from '@txhook/embedded-mongo';
import { jvmPauseLogArgs, jvmPausesBetween, parseJvmPauses } from '../../bench/src/jvm-pauses';

it('finds the collections a small heap forces, and none outside the window', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'txhook-pauses-'));
  const log = path.join(dir, 'pauses.log');
  // A 64 MB heap and serial GC: the inserts below must trigger stop-the-world collections.
  const server = await startEmbeddedMongo({ gc: 'serial', heap: '64m', jvmArgs: jvmPauseLogArgs(log) });
  const started = Date.now();
  try {
    const client = await MongoClient.connect(server.url);
    const documents = client.db('pauses').collection('documents');
    for (let batch = 0; batch < 40; batch++) {
      await documents.insertMany(Array.from({ length: 500 }, (_, i) => ({ batch, i, pad: 'x'.repeat(400) })));
      await documents.deleteMany({ batch });
    }
    await client.close();
    const during = jvmPausesBetween(log, started, Date.now());
    expect(during).toBeDefined();
    expect(during!.count).toBeGreaterThan(0);
    expect(during!.totalMs).toBeGreaterThanOrEqual(during!.longestMs);
    expect(during!.longestCause).toEqual(expect.any(String));
    // The serial collector's pauses are read as safepoints with their cause.
    const causes = parseJvmPauses(readFileSync(log, 'utf8')).map((pause) => pause.cause);
    expect(causes).toContain('GenCollectForAllocation');
    expect(jvmPausesBetween(log, 0, started - 60_000)).toEqual({
      count: 0,
      longestMs: 0,
      totalMs: 0,
      over100ms: 0,
    });
    expect(jvmPausesBetween(path.join(dir, 'missing.log'), 0, Date.now())).toBeUndefined();
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}, 90_000);
