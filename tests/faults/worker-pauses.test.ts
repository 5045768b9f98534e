/**
 * Issue 9, finding 1: one worker whose process is paused (SIGSTOP: its event loop stands still, as
 * in a long GC or VM pause) while its calls run, leases shorter than the calls. A pause shorter
 * than a lease but longer than a heartbeat interval, then two longer than a lease: the worker claims
 * its own records back. Each record must still see exactly one external call.
 */
import {
  e2eContext,
  e2eEnv,
  postWebhook,
  recordFigures,
  sample,
  sampleWebhook,
  scrape,
  sleep,
  startApi,
  startWorker,
  waitFor,
  waitForRecords,
} from '@txhook/test-kit';

const TRANSACTIONS = 60;
const env = e2eEnv('faults_pauses', {
  PROCESSING_DELAY_MS: '6000',
  LEASE_MS: '2000', // each lease renewed once 667 ms of it have passed
  LOG_LEVEL: 'debug',
  MAX_ATTEMPTS: '3',
});
const ctx = e2eContext(() => env);

it('SIGSTOP shorter and longer than a lease during calls: every record called once, all PROCESSED', async () => {
  const { api, baseUrl } = await startApi(env);
  const worker = await startWorker(env);
  ctx.processes.push(api, worker);
  const metricsPort = (await worker.waitForLog((line) => line.message === 'metrics listening')).port;
  for (let i = 0; i < TRANSACTIONS; i++)
    expect((await postWebhook(baseUrl, sampleWebhook())).status).toBe(202);
  await waitFor(
    'all calls started',
    () => (worker.logsWith('transaction claimed').length >= TRANSACTIONS ? true : undefined),
    20_000,
  );
  const pauses = [1_000, 2_600, 2_600]; // > heartbeat interval < lease; then > lease, twice
  for (const pauseMs of pauses) {
    worker.kill('SIGSTOP');
    await sleep(pauseMs);
    worker.kill('SIGCONT');
    await sleep(300);
  }

  await sleep(500); // every call has started
  await waitForRecords(ctx.store, { status: 'PROCESSED' }, TRANSACTIONS, 60_000);
  const records = await ctx.store.transactions.find().toArray();
  const callsStarted = new Map<string, number>();
  for (const line of worker.logsWith('external call started')) {
    const id = String(line.transaction_id);
    callsStarted.set(id, (callsStarted.get(id) ?? 0) + 1);
  }
  for (const record of records) {
    expect({ id: record.transaction_id, calls: record.calls }).toEqual({
      id: record.transaction_id,
      calls: 1,
    });
    expect(callsStarted.get(record.transaction_id)).toBe(1);
    expect(record.attempts).toBe(0);
  }
  const metrics = await scrape(`http://127.0.0.1:${String(metricsPort)}/metrics`);
  expect(sample(metrics, 'txhook_worker_in_flight')).toBe(0);
  expect(sample(metrics, 'txhook_worker_leases_lost_total')).toBe(0);
  expect(sample(metrics, 'txhook_worker_processed_total')).toBe(TRANSACTIONS);

  await worker.stop(30_000);
  const stopped = worker.logsWith('worker stopped')[0];
  expect(stopped).toMatchObject({ finished: 0, released: 0 });

  const claims = records.map((record) => record.claims);
  recordFigures('worker-pauses', {
    transactions: TRANSACTIONS,
    lease_ms: 2000,
    call_ms: 6000,
    pauses_ms: pauses,
    calls_per_record_max: Math.max(...records.map((record) => record.calls)),
    external_calls_started: [...callsStarted.values()].reduce((sum, n) => sum + n, 0),
    attempts_total: records.reduce((sum, record) => sum + record.attempts, 0),
    claims_total: claims.reduce((sum, n) => sum + n, 0),
    claims_per_record_max: Math.max(...claims),
    own_lease_reclaims: sample(metrics, 'txhook_worker_own_lease_reclaims_total'),
  });
});
