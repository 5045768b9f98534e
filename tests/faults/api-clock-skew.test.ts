/**
 * An API whose wall clock is 45 s ahead (libfaketime). A new record's first due time is a lease
 * decision too: taken from the API's own clock, it made every webhook wait 45 s before any worker
 * would claim it. The API stamps new records with the database's clock, so they are due at once.
 */
import {
  e2eContext,
  e2eEnv,
  postWebhook,
  sampleWebhook,
  startApi,
  startWorker,
  waitForRecords,
} from '@txhook/test-kit';

const RECORDS = 10;
const env = e2eEnv('faults_api_skew', { PROCESSING_DELAY_MS: '500' });
const ctx = e2eContext(() => env);

it('an API 45 s ahead: new records are due at once, processed within seconds', async () => {
  const { api, baseUrl } = await startApi(env, { clockOffset: '+45s' });
  ctx.processes.push(api);
  ctx.processes.push(await startWorker(env));
  const posted = Date.now();
  for (let i = 0; i < RECORDS; i++) expect((await postWebhook(baseUrl, sampleWebhook())).status).toBe(202);
  // Well under the 45 s skew; a 500 ms call plus claiming takes about a second.
  await waitForRecords(ctx.store, { status: 'PROCESSED' }, RECORDS, 20_000);
  const records = await ctx.store.transactions.find({}).toArray();
  for (const record of records) {
    // created_at is the database's time, not 45 s in the future.
    expect(Math.abs(record.created_at.getTime() - posted)).toBeLessThan(15_000);
    expect(record.calls).toBe(1);
  }
});
