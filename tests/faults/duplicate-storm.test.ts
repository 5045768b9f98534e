/** Fault 5: each of 500 transaction ids sent 10 times concurrently over 50 connections. */
import {
  e2eContext,
  e2eEnv,
  mapLimit,
  postWebhook,
  processedCounts,
  recordFigures,
  sampleWebhook,
  startApi,
  startWorker,
  waitForRecords,
} from '@txhook/test-kit';

const IDS = 500;
const COPIES = 10;
const env = e2eEnv('faults_duplicates', { PROCESSING_DELAY_MS: '500' });

const ctx = e2eContext(() => env);

it('makes 500 records, each acknowledged once and processed once', async () => {
  const started = Date.now();
  const { api, baseUrl } = await startApi(env);
  const workers = await Promise.all([startWorker(env), startWorker(env)]);
  ctx.processes.push(api, ...workers);

  const originals = Array.from({ length: IDS }, () => sampleWebhook());
  // Copies interleaved (id0, id1, ..., id0, id1, ...) so the copies of one id overlap in time.
  const deliveries = Array.from({ length: COPIES }, () => originals).flat();
  const results = await mapLimit(deliveries, 50, async (body) => ({
    id: body.transaction_id,
    status: (await postWebhook(baseUrl, body)).status,
  }));

  const byStatus: Record<string, number> = {};
  for (const { status } of results) byStatus[status] = (byStatus[status] ?? 0) + 1;
  expect(byStatus).toEqual({ 202: IDS, 200: IDS * (COPIES - 1) });
  for (const original of originals) {
    expect(results.filter((r) => r.id === original.transaction_id && r.status === 202)).toHaveLength(1);
  }

  await waitForRecords(ctx.store, { status: 'PROCESSED' }, IDS, 60_000);
  expect(await ctx.store.transactions.countDocuments()).toBe(IDS);
  expect(await ctx.store.transactions.countDocuments({ claims: 1, calls: 1 })).toBe(IDS);
  const counts = await processedCounts(workers, IDS);
  expect(counts.size).toBe(IDS);
  expect([...counts.values()].every((n) => n === 1)).toBe(true);

  recordFigures('duplicate-storm', {
    transaction_ids: IDS,
    deliveries: deliveries.length,
    connections: 50,
    responses_by_status: byStatus,
    records: IDS,
    processed_more_than_once: [...counts.values()].filter((n) => n > 1).length,
    run_seconds: Math.round((Date.now() - started) / 1000),
  });
});
