/**
 * The first burst against a freshly started API: 64 connections posting for 2 s, right after
 * "api listening", on a fresh database of one embedded server (memory backend), several rounds.
 * Counts answers over 500 ms as autocannon saw them and as the API's own ack-time histogram saw
 * them, to tell where the time went (bench/analysis.md, issue 10).
 * `bash scripts/ts.sh bench/src/cold-start.ts [rounds=5]`
 */
import { startEmbeddedMongo } from '@txhook/embedded-mongo';
import { loadAverage, withStack } from './harness';
import { postLoad } from './load';
import { apiAckCounts } from './mixed';

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 5);
  console.log(`load average ${loadAverage()}`);
  const server = await startEmbeddedMongo({ backend: 'memory' });
  try {
    for (let round = 1; round <= rounds; round++) {
      await withStack(server.url, 'cold', {}, 0, async (stack) => {
        const load = await postLoad({
          url: `${stack.baseUrl}/v1/webhooks/transactions`,
          connections: 64,
          durationSeconds: 2,
        });
        const acks = await apiAckCounts(stack.baseUrl);
        console.log(
          JSON.stringify({
            round,
            requests_per_second: load.requestsPerSecond,
            p99_ms: load.p99,
            max_ms: load.max,
            over_500ms: load.over500ms,
            api_over_500ms: acks.total - acks.within500ms,
          }),
        );
      });
    }
  } finally {
    await server.stop();
  }
}

void main();
