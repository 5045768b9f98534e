/**
 * Workers back after an outage (bench/analysis.md, "A backlog drained while webhooks keep
 * arriving"): the API alone takes a backlog of webhooks (no worker running), then one worker
 * starts and drains it while senders keep posting, in rounds of a few seconds. Prints each round's
 * answers, the slowest, and those over 500 ms as the senders saw them. One embedded server (memory
 * backend), the worker's calls of the stated length; with `history`, that many PROCESSED records
 * are stored first.
 * `bash scripts/ts.sh bench/src/backlog-restart.ts [backlog=60000] [rounds=8] [connections=128] [call ms=5000] [history=0]`
 */
import { startEmbeddedMongo } from '@txhook/embedded-mongo';
import { fillHistory } from './growth';
import { loadAverage, sleep, startWorker, withStack } from './harness';
import { postLoad } from './load';

const ROUND_SECONDS = 4;

async function main(): Promise<void> {
  const backlog = Number(process.argv[2] ?? 60_000);
  const rounds = Number(process.argv[3] ?? 8);
  const connections = Number(process.argv[4] ?? 128);
  const callMs = process.argv[5] ?? '5000';
  const history = Number(process.argv[6] ?? 0);
  console.log(`load average ${loadAverage()}`);
  const server = await startEmbeddedMongo({ backend: 'memory' });
  try {
    await withStack(server.url, 'backlog', { PROCESSING_DELAY_MS: callMs }, 0, async (stack) => {
      const url = `${stack.baseUrl}/v1/webhooks/transactions`;
      if (history > 0) await fillHistory(stack.db, 0, history);
      const outage = await postLoad({ url, connections: 64, amount: backlog });
      console.log(JSON.stringify({ phase: 'backlog, no worker', ...summary(outage) }));
      const worker = await startWorker(stack.env);
      const startedAt = performance.now();
      try {
        for (let round = 1; round <= rounds; round++) {
          const load = await postLoad({ url, connections, durationSeconds: ROUND_SECONDS });
          const workerSeconds = Math.round((performance.now() - startedAt) / 100) / 10;
          console.log(
            JSON.stringify({ phase: 'worker draining', round, worker_s: workerSeconds, ...summary(load) }),
          );
          await sleep(1_000);
        }
      } finally {
        await worker.stop(20_000);
      }
    });
  } finally {
    await server.stop();
  }
}

function summary(load: Awaited<ReturnType<typeof postLoad>>) {
  return {
    answers: load.total,
    requests_per_second: load.requestsPerSecond,
    p99_ms: load.p99,
    max_ms: load.max,
    over_500ms: load.over500ms,
    non2xx: load.non2xx,
  };
}

void main();
