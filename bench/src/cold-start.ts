/**
 * The first burst against a freshly started API: 64 connections posting for 2 s, right after
 * "api listening", on a fresh database of one embedded server (memory backend), several rounds.
 * Counts answers over 500 ms as autocannon saw them and as the API's own ack-time histogram saw
 * them, to tell where the time went (bench/analysis.md, issue 10). With a warm-up count, that many
 * webhooks are posted first at 8 connections, to compare a warmed API with a cold one.
 * `bash scripts/ts.sh bench/src/cold-start.ts [rounds=5] [warm-up webhooks=0]`
 */
import { startEmbeddedMongo } from '@txhook/embedded-mongo';
import { loadAverage, withStack } from './harness';
import { postLoad } from './load';
import { answersOver500ms, apiAckCounts } from './mixed';

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 5);
  const warmUp = Number(process.argv[3] ?? 0);
  console.log(`load average ${loadAverage()}`);
  const server = await startEmbeddedMongo({ backend: 'memory' });
  try {
    for (let round = 1; round <= rounds; round++) {
      await withStack(server.url, 'cold', {}, 0, async (stack) => {
        const url = `${stack.baseUrl}/v1/webhooks/transactions`;
        if (warmUp > 0) await postLoad({ url, connections: 8, amount: warmUp });
        const acksBefore = await apiAckCounts(stack.baseUrl);
        const load = await postLoad({
          url,
          connections: 64,
          durationSeconds: 2,
        });
        const acks = await apiAckCounts(stack.baseUrl);
        console.log(
          JSON.stringify({
            round,
            warm_up: warmUp,
            requests_per_second: load.requestsPerSecond,
            p99_ms: load.p99,
            max_ms: load.max,
            over_500ms: load.over500ms,
            api_over_500ms: answersOver500ms(acksBefore, acks),
          }),
        );
      });
    }
  } finally {
    await server.stop();
  }
}

void main();
