/**
 * Retention through real processes on the embedded server (which has no TTL monitor): the worker
 * sweeps expired terminal records, never a PROCESSING one, and a redelivery after expiry is stored
 * and processed as a new transaction. "Time passing" is an expire_at moved into the past.
 */
import {
  e2eContext,
  e2eEnv,
  getJson,
  postWebhook,
  sampleWebhook,
  startApi,
  startWorker,
  waitForRecords,
  waitForStatus,
} from '@txhook/test-kit';
import { newTransactionDocument, transactionWebhookSchema } from '@txhook/transactions';

const DAY_MS = 86_400_000;
const env = e2eEnv('retention', { PROCESSING_DELAY_MS: '200', RETENTION_SWEEP_MS: '1000' });
const ctx = e2eContext(() => env);

it('deletes expired terminal records, keeps PROCESSING ones, and treats a later redelivery as new', async () => {
  const { api, baseUrl } = await startApi(env);
  ctx.processes.push(api);
  const worker = await startWorker(env);
  ctx.processes.push(worker);

  const body = sampleWebhook();
  expect((await postWebhook(baseUrl, body)).status).toBe(202);
  await waitForStatus(baseUrl, body.transaction_id, 'PROCESSED', 20_000);
  const processed = await ctx.store.transactions.findOne({ transaction_id: body.transaction_id });
  expect(processed?.expire_at?.getTime()).toBe(processed!.processed_at!.getTime() + 30 * DAY_MS);

  // A record in flight whose expire_at somehow passed (e.g. requeued by hand) must survive.
  const waiting = newTransactionDocument(transactionWebhookSchema.parse(sampleWebhook()), new Date());
  await ctx.store.transactions.insertOne({
    ...waiting,
    due_at: new Date(Date.now() + DAY_MS), // not claimable during the test
    expire_at: new Date(Date.now() - 1_000),
  });
  // 30 days later…
  await ctx.store.transactions.updateOne(
    { transaction_id: body.transaction_id },
    { $set: { expire_at: new Date(Date.now() - 1_000) } },
  );
  await waitForRecords(ctx.store, { transaction_id: body.transaction_id }, 0, 15_000);
  expect(await ctx.store.transactions.countDocuments({ transaction_id: waiting.transaction_id })).toBe(1);
  const deleted = await worker.waitForLog((line) => line.message === 'expired records deleted', 5_000);
  expect(deleted.deleted).toBe(1);

  // The provider redelivers after the window: a new record, processed (its call made) again.
  const redelivery = await postWebhook<{ status: string }>(baseUrl, body);
  expect(redelivery.status).toBe(202);
  const again = await waitForStatus(baseUrl, body.transaction_id, 'PROCESSED', 20_000);
  expect(new Date(again.created_at).getTime()).toBeGreaterThan(processed!.created_at.getTime());

  const stats = await getJson<{ retention: unknown }>(`${baseUrl}/v1/stats`);
  expect(stats.body.retention).toEqual({ days: 30, keep_forever: false });
}, 120_000);
