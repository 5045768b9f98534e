/**
 * Issue 9, finding 3: a record whose call crashes its worker every time (FAULT INJECTION:
 * FAULT_CRASH_ON_ID_PREFIX makes the worker process exit when it starts that call). After
 * MAX_CLAIMS leases without an outcome it is FAILED as poison and never leased again.
 */
import {
  type AppProcess,
  e2eContext,
  e2eEnv,
  postWebhook,
  recordFigures,
  sampleWebhook,
  startApi,
  startWorker,
  uniqueId,
  waitFor,
} from '@txhook/test-kit';

const MAX_CLAIMS = 3;
const env = e2eEnv('faults_poison', {
  PROCESSING_DELAY_MS: '500',
  LEASE_MS: '1000',
  MAX_CLAIMS: String(MAX_CLAIMS),
  FAULT_CRASH_ON_ID_PREFIX: 'poison-',
  LOG_LEVEL: 'debug',
});
const ctx = e2eContext(() => env);

it('a record that crashes its worker every time is FAILED after MAX_CLAIMS leases', async () => {
  const { api, baseUrl } = await startApi(env);
  ctx.processes.push(api);
  const poisonId = uniqueId('poison');
  expect((await postWebhook(baseUrl, sampleWebhook({ transaction_id: poisonId }))).status).toBe(202);

  // Restart the worker each time it dies, as an orchestrator would; stop once the record settles.
  const crashes: (number | null)[] = [];
  let worker: AppProcess | undefined;
  for (let start = 0; start < MAX_CLAIMS + 2; start++) {
    worker = await startWorker(env);
    ctx.processes.push(worker);
    const outcome = await Promise.race([
      worker.exited.then((exit) => ({ crashed: exit.code })),
      waitFor(
        'poison settled',
        async () =>
          (await ctx.store.transactions.findOne({ transaction_id: poisonId }))?.status === 'FAILED'
            ? true
            : undefined,
        20_000,
      ).then(() => ({ crashed: undefined })),
    ]);
    if (outcome.crashed === undefined) break;
    crashes.push(outcome.crashed);
  }
  const record = await ctx.store.transactions.findOne({ transaction_id: poisonId });
  expect(record).toMatchObject({ status: 'FAILED', claims: MAX_CLAIMS, calls: MAX_CLAIMS, attempts: 0 });
  expect(record?.last_error).toMatch(/poison record: leased 3 times without an outcome/);
  expect(crashes).toEqual([86, 86, 86]);
  expect(worker!.running).toBe(true);
  expect(worker!.logsWith('poison record: leased too often without an outcome, marked FAILED')).toHaveLength(
    1,
  );

  // The surviving worker goes on with healthy work, and never leases the poison record again.
  const healthy = sampleWebhook();
  expect((await postWebhook(baseUrl, healthy)).status).toBe(202);
  await waitFor(
    'healthy PROCESSED',
    async () =>
      (await ctx.store.transactions.findOne({ transaction_id: healthy.transaction_id }))?.status ===
      'PROCESSED'
        ? true
        : undefined,
    20_000,
  );
  expect((await ctx.store.transactions.findOne({ transaction_id: poisonId }))?.claims).toBe(MAX_CLAIMS);
  recordFigures('poison-record', {
    max_claims: MAX_CLAIMS,
    worker_crashes: crashes.length,
    poison_claims: record?.claims,
    poison_calls: record?.calls,
    poison_attempts: record?.attempts,
  });
});
