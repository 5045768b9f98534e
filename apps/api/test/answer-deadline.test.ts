/**
 * The acknowledgement is a promise to the sender: an answer, always, and soon. Seen in the
 * database-outage fault test: a webhook sent as the database stopped got no answer at all (the
 * driver's write never settled), and the sender's connection hung for minutes. Here the real server
 * withholds the insert's reply from a client that would wait for ever (no socket timeout): the API
 * must still answer 503 + Retry-After by its deadline, and the sender's retry must be stored once.
 */
import { withCallDeadlines } from '@txhook/platform';
import {
  type FaultableDatabase,
  type HttpResult,
  openFaultableDatabase,
  requestJson,
  sampleWebhook,
  sleep,
} from '@txhook/test-kit';
import { expectErrorShape, serve, type Served } from './serve';

const DEADLINE_MS = 1_000;
/**
 * How long the server withholds the reply: far past the deadline, yet short, because the server
 * holds one of its network threads meanwhile, and other tests' connections on that thread wait too.
 */
const WITHHELD_MS = 8_000;
let withheldUntil = 0;
let database: FaultableDatabase;
let served: Served;

beforeAll(async () => {
  database = await openFaultableDatabase('deadline', { socketTimeoutMS: 0 });
  // Bounded as the API's composition root bounds it (apps/api/src/main.ts).
  const repository = withCallDeadlines(database.repository, DEADLINE_MS, 'TransactionStore');
  served = await serve(database.client, repository);
});
afterAll(async () => {
  // The next test file shares the server: leave it with no reply still held back.
  await sleep(Math.max(0, withheldUntil - Date.now()));
  await served.close();
  await database.drop();
});

function post(body: object): Promise<HttpResult> {
  return requestJson(`${served.baseUrl}/v1/webhooks/transactions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
}

it('answers 503 + Retry-After by its deadline when the database never answers, and the retry is stored once', async () => {
  await database.inject({ commands: ['insert'], delayMs: WITHHELD_MS, times: 1 });
  withheldUntil = Date.now() + WITHHELD_MS + 500;
  const webhook = sampleWebhook();
  const first = await post(webhook);
  expect(first.status).toBe(503);
  expect(first.headers.get('retry-after')).toMatch(/^\d+$/);
  expectErrorShape(first.body, 'unavailable');
  // The deadline plus a wide margin for a shared machine; without it there was no answer at all.
  expect(first.elapsedMs).toBeLessThan(DEADLINE_MS + 4_000);

  await database.clear();
  const retry = await post(webhook);
  expect([200, 202]).toContain(retry.status);
  expect(
    await database.repository.collection.countDocuments({ transaction_id: webhook.transaction_id }),
  ).toBe(1);
}, 60_000);
