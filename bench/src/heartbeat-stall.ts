/**
 * One heartbeat of many leases on the embedded server (memory backend), and the longest single
 * insert while it runs: the stall the mixed-load profile found (bench/analysis.md, issue 10).
 * `bash scripts/ts.sh bench/src/heartbeat-stall.ts [leases=8000] [rounds=3]`
 */
import { MongoClient } from 'mongodb';
import { startEmbeddedMongo } from '@txhook/embedded-mongo';
import {
  LeaseQueue,
  TransactionStore,
  transactionWebhookSchema,
  type ClaimedTransaction,
} from '@txhook/transactions';
import { sleep } from './harness';
import { uniqueWebhookBody } from './load';

async function main(): Promise<void> {
  const leases = Number(process.argv[2] ?? 8000);
  const rounds = Number(process.argv[3] ?? 3);
  const server = await startEmbeddedMongo({ backend: 'memory' });
  const client = await MongoClient.connect(server.url);
  try {
    const db = client.db('heartbeat_stall');
    const store = new TransactionStore(db);
    await store.ensureIndexes();
    const webhook = () => transactionWebhookSchema.parse(JSON.parse(uniqueWebhookBody()));
    for (let done = 0; done < leases; done += 500) {
      await Promise.all(
        Array.from({ length: Math.min(500, leases - done) }, () => store.recordWebhook(webhook())),
      );
    }
    const queue = new LeaseQueue(db);
    const claimed: ClaimedTransaction[] = [];
    for (;;) {
      const round = await queue.claim('stall-worker', 600_000, 200);
      if (round.claimed.length === 0) break;
      claimed.push(...round.claimed);
    }
    const refs = claimed.map((record) => ({
      transaction_id: record.transaction_id,
      lease_token: record.lease_token,
    }));
    for (let round = 1; round <= rounds; round++) {
      // One insert after another, as the API's coalescer would send them, while the heartbeat runs.
      let stop = false;
      const latencies: number[] = [];
      const inserter = (async () => {
        while (!stop) {
          const sentAt = performance.now();
          await store.recordWebhook(webhook());
          latencies.push(performance.now() - sentAt);
        }
      })();
      await sleep(100);
      const sentAt = performance.now();
      const held = await queue.renew('stall-worker', refs, 600_000);
      const renewMs = Math.round(performance.now() - sentAt);
      await sleep(100);
      stop = true;
      await inserter;
      console.log(
        JSON.stringify({
          round,
          leases: refs.length,
          held: held.size,
          renew_ms: renewMs,
          inserts_meanwhile: latencies.length,
          longest_insert_ms: Math.round(Math.max(...latencies)),
        }),
      );
    }
  } finally {
    await client.close();
    await server.stop();
  }
}

void main();
