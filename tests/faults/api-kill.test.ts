/**
 * Fault 2: the API is SIGKILLed and restarted during a burst of POSTs. Every 202 the client saw is
 * stored and later PROCESSED; requests that got no answer are retried by the client, as a sender
 * would, and end as one record each.
 */
import {
  type AppProcess,
  e2eEnv,
  freePort,
  mapLimit,
  openCollection,
  postWebhook,
  recordFigures,
  sampleWebhook,
  sleep,
  startApi,
  startWorker,
  stopAll,
  waitFor,
} from '@txhook/test-kit';

const TRANSACTIONS = 1_000;
const processes: AppProcess[] = [];
let store: Awaited<ReturnType<typeof openCollection>>;
let env: Record<string, string>;

beforeAll(async () => {
  env = e2eEnv('faults_api_kill', { PROCESSING_DELAY_MS: '500', PORT: String(await freePort()) });
  store = await openCollection(env);
});
afterAll(async () => {
  await stopAll(processes);
  await store.close();
});

it('every acknowledged webhook survives an API crash; retried ones end as one record', async () => {
  const started = Date.now();
  const first = await startApi(env);
  processes.push(first.api);
  processes.push(await startWorker(env));
  const baseUrl = first.baseUrl;

  let answered = 0;
  let failedRequests = 0;
  const acknowledged = new Set<string>();
  const statusCounts: Record<string, number> = {};
  const bodies = Array.from({ length: TRANSACTIONS }, () => sampleWebhook());

  const sendUntilAnswered = async (body: ReturnType<typeof sampleWebhook>) => {
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        const response = await postWebhook(baseUrl, body);
        statusCounts[response.status] = (statusCounts[response.status] ?? 0) + 1;
        if (response.status === 202) acknowledged.add(body.transaction_id);
        if (response.status === 200 || response.status === 202) {
          answered += 1;
          return;
        }
      } catch {
        failedRequests += 1; // connection refused or reset while the API is down
      }
      if (Date.now() > deadline) throw new Error(`no answer for ${body.transaction_id}`);
      await sleep(100);
    }
  };

  const crash = (async () => {
    await waitFor(
      'a third of the burst answered',
      () => (answered >= TRANSACTIONS / 3 ? true : undefined),
      60_000,
      5,
    );
    first.api.kill('SIGKILL');
    await first.api.exited;
    await sleep(500);
    const second = await startApi(env);
    processes.push(second.api);
  })();
  await mapLimit(bodies, 20, sendUntilAnswered);
  await crash;

  expect(failedRequests).toBeGreaterThan(0); // the crash really cut requests off
  await waitFor(
    'all PROCESSED',
    async () =>
      (await store.transactions.countDocuments({ status: 'PROCESSED' })) === TRANSACTIONS ? true : undefined,
    60_000,
    250,
  );
  const records = await store.transactions.find().toArray();
  const ids = new Set(records.map((record) => record.transaction_id));
  expect(records).toHaveLength(TRANSACTIONS);
  for (const body of bodies) expect(ids.has(body.transaction_id)).toBe(true);
  for (const id of acknowledged) expect(ids.has(id)).toBe(true);

  recordFigures('api-kill', {
    transactions: TRANSACTIONS,
    api_kills: 1,
    requests_cut_off_by_the_crash: failedRequests,
    responses_by_status: statusCounts,
    acknowledged_202: acknowledged.size,
    stored_records: records.length,
    lost: [...acknowledged].filter((id) => !ids.has(id)).length,
    duplicates: records.length - ids.size,
    run_seconds: Math.round((Date.now() - started) / 1000),
  });
});
