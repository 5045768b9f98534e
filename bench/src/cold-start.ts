/**
 * The first burst against a freshly started API: 64 connections posting for 2 s, right after
 * "api listening", on a fresh database of one embedded server (memory backend), several rounds.
 * Counts answers over 500 ms as autocannon saw them and as the API's own ack-time histogram saw
 * them, to tell where the time went (bench/analysis.md, issue 10). Each round starts one API per
 * WARM_UP_REQUESTS value given (its own warm-up before it listens; 0 = listens cold), side by
 * side. With a count of sent webhooks, that many are posted first at 8 connections.
 * `bash scripts/ts.sh bench/src/cold-start.ts [rounds=5] [sent webhooks=0] [WARM_UP_REQUESTS values=0,1000]`
 */
import { startEmbeddedMongo } from '@txhook/embedded-mongo';
import { loadAverage, withStack } from './harness';
import { postLoad } from './load';
import { answersOver500ms, apiAckCounts } from './mixed';

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 5);
  const sentFirst = Number(process.argv[3] ?? 0);
  const apiWarmUps = (process.argv[4] ?? '0,1000').split(',');
  console.log(`load average ${loadAverage()}`);
  const server = await startEmbeddedMongo({ backend: 'memory' });
  try {
    for (let round = 1; round <= rounds; round++) {
      for (const apiWarmUp of apiWarmUps)
        await withStack(server.url, 'cold', { WARM_UP_REQUESTS: apiWarmUp }, 0, async (stack) => {
          const url = `${stack.baseUrl}/v1/webhooks/transactions`;
          if (sentFirst > 0) await postLoad({ url, connections: 8, amount: sentFirst });
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
              sent_first: sentFirst,
              warm_up_requests: Number(apiWarmUp),
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
