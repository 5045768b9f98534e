/** Real API + worker processes: request-scoped access logs, and the worker's /metrics endpoint. */
import {
  type AppProcess,
  e2eEnv,
  getJson,
  type LogLine,
  openCollection,
  postWebhook,
  sample,
  sampleWebhook,
  scrape,
  startApi,
  startWorker,
  stopAll,
  waitFor,
  waitForStatus,
} from '@txhook/test-kit';

const env = e2eEnv('observability', { PROCESSING_DELAY_MS: '1500' });
const processes: AppProcess[] = [];
let api: AppProcess;
let baseUrl: string;
let worker: AppProcess;
let metricsUrl: string;
let store: Awaited<ReturnType<typeof openCollection>>;

beforeAll(async () => {
  store = await openCollection(env);
  ({ api, baseUrl } = await startApi(env));
  processes.push(api);
  worker = await startWorker(env);
  processes.push(worker);
  const listening = await worker.waitForLog((line) => line.message === 'metrics listening', 5_000);
  metricsUrl = `http://127.0.0.1:${String(listening.port)}/metrics`;
}, 90_000);
afterAll(async () => {
  await stopAll(processes);
  await store.close();
});

const accessLine = (requestId: string) =>
  api.waitForLog((line) => line.message === 'request completed' && line.request_id === requestId, 5_000);

it('writes one access log line per request with request_id and transaction_id, and tags the other lines', async () => {
  const body = sampleWebhook();
  const ack = await postWebhook(baseUrl, body, {
    'content-type': 'application/json',
    'x-request-id': 'e2e-req-1',
  });
  expect(ack.status).toBe(202);
  expect(ack.headers.get('x-request-id')).toBe('e2e-req-1');
  expect(await accessLine('e2e-req-1')).toMatchObject({
    level: 'info',
    method: 'POST',
    path: '/v1/webhooks/transactions',
    status: 202,
    duration_ms: expect.any(Number),
    transaction_id: body.transaction_id,
  });
  // One line per accepted webhook (a second line cost 16 % of ingest): the access line says what
  // became of it.
  expect(api.logs.filter((l: LogLine) => l.request_id === 'e2e-req-1')).toEqual([
    expect.objectContaining({ message: 'request completed', outcome: 'created' }),
  ]);

  // A generated id: the one in the response header is the one in the log.
  const status = await getJson(`${baseUrl}/v1/transactions/${body.transaction_id}?x=1`);
  const generated = status.headers.get('x-request-id')!;
  expect(generated).toMatch(/^[0-9a-f-]{36}$/);
  expect(await accessLine(generated)).toMatchObject({
    method: 'GET',
    path: `/v1/transactions/${body.transaction_id}`,
    status: 200,
    transaction_id: body.transaction_id,
  });

  // A refused body with a well-formed id still names the transaction.
  const invalid = await postWebhook(
    baseUrl,
    { ...body, amount: '-1' },
    {
      'content-type': 'application/json',
      'x-request-id': 'e2e-req-invalid',
    },
  );
  expect(invalid.status).toBe(400);
  expect(await accessLine('e2e-req-invalid')).toMatchObject({
    status: 400,
    transaction_id: body.transaction_id,
  });

  // A conflicting redelivery: its warning, written by the route, carries the request id without
  // being handed it; the access line names the outcome too.
  const conflict = await postWebhook(
    baseUrl,
    { ...body, amount: '999.00' },
    { 'content-type': 'application/json', 'x-request-id': 'e2e-req-conflict' },
  );
  expect(conflict.status).toBe(409);
  expect(await accessLine('e2e-req-conflict')).toMatchObject({ status: 409, outcome: 'conflict' });
  expect(
    api.logsWith('conflicting webhook').find((l) => l.transaction_id === body.transaction_id),
  ).toMatchObject({ request_id: 'e2e-req-conflict', level: 'warn' });

  // Exactly one access line per request, and no payload fields in any line.
  expect(
    api.logs.filter((l: LogLine) => l.request_id === 'e2e-req-1' && l.message === 'request completed'),
  ).toHaveLength(1);
  const everything = api.rawOutput.join('\n');
  expect(everything).not.toContain(body.source_account);
  expect(everything).not.toContain(body.destination_account);
}, 30_000);

it('serves worker metrics: claims counted, calls in flight, lag observed', async () => {
  // The first test's transaction must be done, so only this test's claims move the counters.
  await waitFor(
    'earlier work to finish',
    async () =>
      (await store.transactions.countDocuments({ status: 'PROCESSING' })) === 0 ? true : undefined,
    15_000,
  );
  const before = await scrape(metricsUrl);
  const claimsBefore = sample(before, 'txhook_worker_claims_total')!;
  const processedBefore = sample(before, 'txhook_worker_processed_total')!;
  const bodies = [sampleWebhook(), sampleWebhook(), sampleWebhook()];
  for (const body of bodies) expect((await postWebhook(baseUrl, body)).status).toBe(202);

  // Each call takes 1.5 s: the gauge shows them while they run.
  await waitFor(
    'calls in flight',
    async () => ((sample(await scrape(metricsUrl), 'txhook_worker_in_flight') ?? 0) >= 1 ? true : undefined),
    10_000,
    100,
  );
  for (const body of bodies) await waitForStatus(baseUrl, body.transaction_id, 'PROCESSED', 15_000);
  const after = await waitFor(
    'worker metrics to settle',
    async () => {
      const s = await scrape(metricsUrl);
      return sample(s, 'txhook_worker_in_flight') === 0 ? s : undefined;
    },
    5_000,
  );
  expect(sample(after, 'txhook_worker_claims_total')! - claimsBefore).toBe(3);
  expect(sample(after, 'txhook_worker_processed_total')! - processedBefore).toBe(3);
  // Every processed record waited at least the 1.5 s call.
  expect(sample(after, 'txhook_worker_processing_lag_seconds_bucket', { le: '1' })).toBe(0);
  expect(sample(after, 'txhook_worker_processing_lag_seconds_count')).toBe(processedBefore + 3);
  expect(worker.logsWith('transaction processed').every((l) => typeof l.lease_token === 'string')).toBe(true);
}, 40_000);
