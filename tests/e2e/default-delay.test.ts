/** The real product delay: with PROCESSING_DELAY_MS unset, a transaction takes 30 s to process. */
import {
  type AppProcess,
  e2eEnv,
  getJson,
  postWebhook,
  sampleWebhook,
  startApi,
  startWorker,
  stopAll,
  type TransactionViewBody,
  waitForStatus,
} from '@txhook/test-kit';

const { PROCESSING_DELAY_MS: _unset, ...env } = e2eEnv('default_delay', { LEASE_MS: '30000' });
const processes: AppProcess[] = [];

afterAll(() => stopAll(processes));

it('stays PROCESSING for the 30 s external call, then becomes PROCESSED', async () => {
  const { api, baseUrl } = await startApi(env);
  processes.push(api, await startWorker(env));
  const body = sampleWebhook();
  const ack = await postWebhook<TransactionViewBody>(baseUrl, body);
  expect(ack.status).toBe(202);
  expect(ack.elapsedMs).toBeLessThan(500);

  await new Promise((resolve) => setTimeout(resolve, 25_000));
  const during = await getJson<TransactionViewBody>(`${baseUrl}/v1/transactions/${body.transaction_id}`);
  expect(during.body.status).toBe('PROCESSING');

  const done = await waitForStatus(baseUrl, body.transaction_id, 'PROCESSED', 20_000, 250);
  const waited = Date.parse(done.processed_at!) - Date.parse(done.created_at);
  expect(waited).toBeGreaterThanOrEqual(30_000);
  expect(waited).toBeLessThan(40_000);
}, 90_000);
