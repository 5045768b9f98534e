/** The product path with real processes: API + worker, a webhook goes PROCESSING -> PROCESSED. */
import {
  type AppProcess,
  e2eEnv,
  getJson,
  openCollection,
  postWebhook,
  processedCounts,
  sampleWebhook,
  startApi,
  startWorker,
  stopAll,
  type TransactionViewBody,
  waitForStatus,
} from '@txhook/test-kit';

const env = e2eEnv('lifecycle', { PROCESSING_DELAY_MS: '1500' });
const processes: AppProcess[] = [];
let baseUrl: string;
let worker: AppProcess;
let store: Awaited<ReturnType<typeof openCollection>>;

beforeAll(async () => {
  store = await openCollection(env);
  const started = await startApi(env);
  processes.push(started.api);
  baseUrl = started.baseUrl;
  worker = await startWorker(env);
  processes.push(worker);
}, 90_000);
afterAll(async () => {
  await stopAll(processes);
  await store.close();
});

it('acknowledges at once, shows PROCESSING, then PROCESSED after the external call', async () => {
  const body = sampleWebhook();
  const ack = await postWebhook<TransactionViewBody>(baseUrl, body);
  expect(ack.status).toBe(202);
  expect(ack.elapsedMs).toBeLessThan(500);
  expect(ack.body.status).toBe('PROCESSING');

  const early = await getJson<TransactionViewBody>(`${baseUrl}/v1/transactions/${body.transaction_id}`);
  expect(early.body.status).toBe('PROCESSING');

  const done = await waitForStatus(baseUrl, body.transaction_id, 'PROCESSED', 15_000);
  const waited = Date.parse(done.processed_at!) - Date.parse(done.created_at);
  expect(waited).toBeGreaterThanOrEqual(1_500);
  expect(done).toMatchObject({ calls: 1, attempts: 0, claims: 1 });
}, 30_000);

it('30 concurrent deliveries of one transaction make one record, processed once', async () => {
  const body = sampleWebhook();
  const responses = await Promise.all(Array.from({ length: 30 }, () => postWebhook(baseUrl, body)));
  expect(responses.filter((r) => r.status === 202)).toHaveLength(1);
  expect(responses.filter((r) => r.status === 200)).toHaveLength(29);
  await waitForStatus(baseUrl, body.transaction_id, 'PROCESSED', 15_000);
  // Sequential redelivery after processing: still the one record, unchanged.
  const late = await postWebhook<TransactionViewBody>(baseUrl, body);
  expect(late.status).toBe(200);
  expect(late.body.status).toBe('PROCESSED');
  expect(await store.transactions.countDocuments({ transaction_id: body.transaction_id })).toBe(1);
  expect((await processedCounts([worker], 1)).get(body.transaction_id)).toBe(1);
}, 30_000);

it('a changed payload for a known transaction_id gets 409 through the running service', async () => {
  const body = sampleWebhook();
  expect((await postWebhook(baseUrl, body)).status).toBe(202);
  expect((await postWebhook(baseUrl, { ...body, amount: '1.00' })).status).toBe(409);
});

it('the worker exits 0 on SIGTERM and the API on SIGINT', async () => {
  const workerExit = await worker.stop();
  expect(workerExit).toEqual({ code: 0, signal: null });
  expect(worker.logsWith('worker stopped')).toHaveLength(1);
  const api = processes[0]!;
  api.kill('SIGINT');
  expect(await api.exited).toEqual({ code: 0, signal: null });
}, 30_000);
