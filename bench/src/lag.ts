/** Lag under steady load: 200 tx/s for 2 minutes; processed_at - created_at percentiles. */
import { MongoClient } from 'mongodb';
import { randomBytes } from 'node:crypto';
import { postLoad } from './load';
import { percentile, sleep, startApi, startWorker, type AppProcess } from './harness';

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
  const env = {
    MONGODB_URL: mongoUrl,
    MONGODB_DB: `bench_lag_${randomBytes(3).toString('hex')}`,
    PROCESSING_DELAY_MS: '30000',
    LEASE_MS: '60000',
    POLL_INTERVAL_MS: '100',
  };
  const processes: AppProcess[] = [];
  const client = await MongoClient.connect(mongoUrl);
  const collection = client.db(env.MONGODB_DB).collection('transactions');
  try {
    const { api, baseUrl } = await startApi(env);
    processes.push(api, await startWorker(env));
    const load = await postLoad({
      url: `${baseUrl}/v1/webhooks/transactions`,
      connections: 16,
      durationSeconds,
      overallRate: ratePerSecond,
    });
    const total = await collection.countDocuments();
    const deadline = Date.now() + 90_000;
    while ((await collection.countDocuments({ status: 'PROCESSED' })) < total && Date.now() < deadline)
      await sleep(500);
    const records = await collection
      .find({ status: 'PROCESSED' }, { projection: { created_at: 1, processed_at: 1 } })
      .toArray();
    const lags = records
      .map((r) => ((r.processed_at as Date).getTime() - (r.created_at as Date).getTime()) / 1000)
      .sort((a, b) => a - b);
    return {
      ratePerSecond,
      durationSeconds,
      transactions: total,
      p50Seconds: round(percentile(lags, 50)),
      p99Seconds: round(percentile(lags, 99)),
      maxSeconds: round(percentile(lags, 100)),
      ingestP99Ms: load.p99,
      failedPosts: load.errors + load.non2xx + (total - records.length),
    };
  } finally {
    await Promise.all(processes.map((p) => p.stop(20_000)));
    await client
      .db(env.MONGODB_DB)
      .dropDatabase()
      .catch(() => undefined);
    await client.close();
  }
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
