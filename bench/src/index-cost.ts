/**
 * What the embedded server's secondary indexes cost in memory and at start-up:
 * `bash scripts/ts.sh bench/src/index-cost.ts [records]`
 * (default 500,000). For the memory backend with and without them: the database JVM's live heap
 * after a full GC (`jcmd GC.run` then `GC.heap_info`) with `records` PROCESSED records stored, as
 * `pnpm bench growth` stores them, and the service's indexes. For H2 with a data file: how long a
 * restart takes until the first indexed query answers (the in-memory indexes are rebuilt then).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import { LeaseQueue, TransactionStore } from '@txhook/transactions';
import { startEmbeddedMongo, type EmbeddedMongoOptions } from '@txhook/embedded-mongo';
import { fillHistory } from './growth';
import { loadAverage } from './harness';

const records = Number(process.argv[2] ?? 500_000);

function jcmd(pid: number, ...command: string[]): string {
  return execFileSync('jcmd', [String(pid), ...command], { encoding: 'utf8' });
}

/** Heap in use after a full collection, in MB (G1's "garbage-first heap ... used NK"). */
function liveHeapMb(pid: number): number {
  jcmd(pid, 'GC.run');
  const used = /used (\d+)K/.exec(jcmd(pid, 'GC.heap_info'));
  if (!used?.[1]) throw new Error('index-cost: no heap figure from jcmd GC.heap_info');
  return Math.round(Number(used[1]) / 1024);
}

async function filled(options: EmbeddedMongoOptions) {
  const server = await startEmbeddedMongo(options);
  const client = await MongoClient.connect(server.url);
  const db = client.db('index_cost');
  await new TransactionStore(db).ensureIndexes();
  const started = performance.now();
  await fillHistory(db, 0, records);
  const fillSeconds = (performance.now() - started) / 1000;
  return { server, client, db, fillSeconds };
}

async function heapOfMemoryBackend(secondaryIndexes: boolean) {
  const { server, client, fillSeconds } = await filled({ backend: 'memory', secondaryIndexes });
  try {
    const pid = server.process.pid;
    if (pid === undefined) throw new Error('index-cost: database process has no pid');
    return { secondaryIndexes, fillSeconds: Math.round(fillSeconds), liveHeapMb: liveHeapMb(pid) };
  } finally {
    await client.close();
    await server.stop();
  }
}

async function h2Restart() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'txhook-index-cost-'));
  const h2File = path.join(dir, 'data.mv');
  try {
    const first = await filled({ backend: 'h2', h2File });
    await first.client.close();
    await first.server.stop();
    const restarts = [];
    // The same file, restarted without and with the secondary indexes.
    for (const secondaryIndexes of [false, true]) {
      const started = performance.now();
      const server = await startEmbeddedMongo({
        backend: 'h2',
        h2File,
        secondaryIndexes,
        startTimeoutMs: 600_000,
      });
      const listening = performance.now();
      const client = await MongoClient.connect(server.url);
      await new LeaseQueue(client.db('index_cost'), undefined, { claimMode: 'batch' }).claim(
        'index-cost',
        60_000,
        100,
      );
      const answered = performance.now();
      await client.close();
      await server.stop();
      restarts.push({
        secondaryIndexes,
        untilListeningSeconds: Math.round((listening - started) / 100) / 10,
        untilFirstClaimPollSeconds: Math.round((answered - started) / 100) / 10,
      });
    }
    return { fillSeconds: Math.round(first.fillSeconds), restarts };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  console.log(`index-cost: ${records} records, load average ${loadAverage()}`);
  for (const secondaryIndexes of [true, false]) {
    console.log('memory backend', JSON.stringify(await heapOfMemoryBackend(secondaryIndexes)));
  }
  console.log('h2 restart', JSON.stringify(await h2Restart()));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
