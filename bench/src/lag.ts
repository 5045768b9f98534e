/** Lag under steady load: 200 tx/s for 2 minutes; processed_at - created_at percentiles. */
import { postLoad } from './load';
import { percentile, sleep, withStack } from './harness';

export interface LagResult {
  ratePerSecond: number;
  durationSeconds: number;
  transactions: number;
  p50Seconds: number;
  p99Seconds: number;
  maxSeconds: number;
  ingestP99Ms: number;
  failedPosts: number;
}

export async function lagUnderLoad(
  mongoUrl: string,
  ratePerSecond: number,
  durationSeconds: number,
): Promise<LagResult> {
  const settings = { PROCESSING_DELAY_MS: '30000', LEASE_MS: '60000', POLL_INTERVAL_MS: '100' };
  return withStack(mongoUrl, 'lag', settings, 1, async ({ baseUrl, collection }) => {
    const load = await postLoad({
      url: `${baseUrl}/v1/webhooks/transactions`,
      connections: 16,
      durationSeconds,
      overallRate: ratePerSecond,
    });
    // Stored is counted on every round: replies still in flight when autocannon stopped add records.
    const deadline = Date.now() + 90_000;
    while (
      (await collection.countDocuments({ status: 'PROCESSED' })) < (await collection.countDocuments()) &&
      Date.now() < deadline
    )
      await sleep(500);
    const stored = await collection.countDocuments();
    const records = await collection
      .find({ status: 'PROCESSED' }, { projection: { created_at: 1, processed_at: 1 } })
      .toArray();
    const lags = records
      .map((r) => ((r.processed_at as Date).getTime() - (r.created_at as Date).getTime()) / 1000)
      .sort((a, b) => a - b);
    return {
      ratePerSecond,
      durationSeconds,
      transactions: stored,
      p50Seconds: round(percentile(lags, 50)),
      p99Seconds: round(percentile(lags, 99)),
      maxSeconds: round(percentile(lags, 100)),
      ingestP99Ms: load.p99,
      failedPosts: load.errors + load.non2xx + (stored - records.length),
    };
  });
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
