/**
 * Issue 9, finding 5: SIGTERM under steady load. With the default grace (a whole call plus a
 * margin) no call is cut short; with a short grace the cut calls are released without spending
 * their attempt budget. Either way the worker claims nothing once it got SIGTERM.
 */
import {
  type AppProcess,
  e2eContext,
  e2eEnv,
  postWebhook,
  recordFigures,
  sampleWebhook,
  sleep,
  startApi,
  startWorker,
  waitFor,
  waitForRecords,
} from '@txhook/test-kit';

// Longer than the old 10 s default grace: that default cut every one of these calls short.
const CALL_MS = 12_000;
const env = e2eEnv('faults_shutdown', {
  PROCESSING_DELAY_MS: String(CALL_MS),
  LEASE_MS: '3000',
  LOG_LEVEL: 'debug',
  SHUTDOWN_GRACE_MS: '', // unset: the worker's default
});
const ctx = e2eContext(() => env);

async function loadThenSigterm(worker: AppProcess, baseUrl: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  // Steady load: webhooks keep arriving, calls start at different times.
  for (let i = 0; i < count; i++) {
    const body = sampleWebhook();
    expect((await postWebhook(baseUrl, body)).status).toBe(202);
    ids.push(body.transaction_id);
    await sleep(100);
  }
  await waitFor(
    'claimed',
    () => (worker.logsWith('transaction claimed').length >= count ? true : undefined),
    20_000,
  );
  await sleep(500); // their calls have started
  worker.kill('SIGTERM');
  return ids;
}

it('default grace: SIGTERM aborts no call; records arriving after it are not claimed', async () => {
  const { api, baseUrl } = await startApi(env);
  const worker = await startWorker(env);
  ctx.processes.push(api, worker);
  const ids = await loadThenSigterm(worker, baseUrl, 10);
  const late = sampleWebhook();
  expect((await postWebhook(baseUrl, late)).status).toBe(202);

  const exit = await worker.stop(CALL_MS + 30_000);
  expect(exit.code).toBe(0);
  expect(worker.logsWith('worker stopped')[0]).toMatchObject({ finished: ids.length, released: 0 });
  const records = await ctx.store.transactions.find({ transaction_id: { $in: ids } }).toArray();
  for (const record of records) expect(record).toMatchObject({ status: 'PROCESSED', calls: 1, attempts: 0 });
  const lateRecord = await ctx.store.transactions.findOne({ transaction_id: late.transaction_id });
  expect(lateRecord).toMatchObject({ status: 'PROCESSING', claims: 0, calls: 0 });
  recordFigures('shutdown-default-grace', {
    call_ms: CALL_MS,
    in_flight_at_sigterm: ids.length,
    aborted: worker.logsWith('transaction released on shutdown').length,
    calls_per_record_max: Math.max(...records.map((record) => record.calls)),
  });
});

it('short grace: the released records keep their attempt budget and finish elsewhere', async () => {
  const shortEnv = { ...env, SHUTDOWN_GRACE_MS: '500' };
  await ctx.store.transactions.deleteMany({}); // the first test's unclaimed record
  const { api, baseUrl } = await startApi(shortEnv);
  const worker = await startWorker(shortEnv);
  ctx.processes.push(api, worker);
  const ids = await loadThenSigterm(worker, baseUrl, 5);
  await worker.exited;
  expect(worker.logsWith('worker stopped')[0]).toMatchObject({ finished: 0, released: ids.length });
  let records = await ctx.store.transactions.find({ transaction_id: { $in: ids } }).toArray();
  for (const record of records) {
    expect(record).toMatchObject({
      status: 'PROCESSING',
      lease_token: null,
      attempts: 0,
      calls: 1,
      claims: 1,
    });
  }

  const next = await startWorker({ ...shortEnv, PROCESSING_DELAY_MS: '500' });
  ctx.processes.push(next);
  await waitForRecords(ctx.store, { transaction_id: { $in: ids }, status: 'PROCESSED' }, ids.length, 30_000);
  records = await ctx.store.transactions.find({ transaction_id: { $in: ids } }).toArray();
  for (const record of records) expect(record).toMatchObject({ attempts: 0, calls: 2, claims: 2 });
  recordFigures('shutdown-short-grace', {
    grace_ms: 500,
    released: ids.length,
    attempts_spent_by_release: records.reduce((sum, record) => sum + record.attempts, 0),
    calls_per_record: records.map((record) => record.calls),
  });
});
