/**
 * A worker that stalls past its lease (SIGSTOP: its event loop stands still, as in a long GC or a
 * blocked thread) must not write over the claim of the worker that took its records over.
 */
import {
  e2eContext,
  e2eEnv,
  postWebhook,
  processedCounts,
  recordFigures,
  sampleWebhook,
  sleep,
  startApi,
  startWorker,
  waitFor,
  waitForRecords,
} from '@txhook/test-kit';

const TRANSACTIONS = 20;
const env = e2eEnv('faults_stall', { PROCESSING_DELAY_MS: '3000', LEASE_MS: '1500', LOG_LEVEL: 'debug' });

const ctx = e2eContext(() => env);

it('fencing: the stalled worker finishes its calls but cannot mark anything PROCESSED', async () => {
  const { api, baseUrl } = await startApi(env);
  const stalled = await startWorker(env);
  ctx.processes.push(api, stalled);
  for (let i = 0; i < TRANSACTIONS; i++)
    expect((await postWebhook(baseUrl, sampleWebhook())).status).toBe(202);
  await waitFor(
    'all claimed',
    () => (stalled.logsWith('transaction claimed').length === TRANSACTIONS ? true : undefined),
    10_000,
  );

  stalled.kill('SIGSTOP');
  const takeover = await startWorker(env);
  ctx.processes.push(takeover);
  // Its leases expire; the other worker claims the records and starts their calls.
  await waitFor(
    'taken over',
    () => (takeover.logsWith('transaction claimed').length === TRANSACTIONS ? true : undefined),
    15_000,
  );
  await sleep(1_000); // the stalled worker's own 3 s calls are now overdue
  stalled.kill('SIGCONT');

  // It notices each loss once: by a heartbeat (its call is aborted) or by its fenced outcome write.
  const lostLines = () => stalled.logs.filter((line) => String(line.message).startsWith('lease lost'));
  await waitFor(
    'stalled worker noticed',
    () => (lostLines().length === TRANSACTIONS ? true : undefined),
    15_000,
  );
  await waitForRecords(ctx.store, { status: 'PROCESSED' }, TRANSACTIONS, 15_000);
  expect(stalled.logsWith('transaction processed')).toHaveLength(0);
  const counts = await processedCounts([takeover], TRANSACTIONS);
  expect(counts.size).toBe(TRANSACTIONS);
  expect(await ctx.store.transactions.countDocuments({ claims: 2, attempts: 0 })).toBe(TRANSACTIONS);

  recordFigures('stalled-worker', {
    transactions: TRANSACTIONS,
    stalled_leases_found_lost: lostLines().length,
    processed_by_stalled_worker: stalled.logsWith('transaction processed').length,
    processed_by_takeover_worker: counts.size,
  });
});
