/**
 * The worker reaches the database only through LeaseQueue, and its composition root bounds every
 * call (withCallDeadlines): a claim, renewal or completion that the driver never settles (seen when
 * the database stopped mid-write) must not stall the worker for ever. Here the real server withholds
 * its reply from a client that has no socket timeout, so only the deadline can end the call.
 */
import { DatabaseNotReadyError, withCallDeadlines } from '@txhook/platform';
import { openFaultableDatabase, sampleWebhook, sleep, type FaultableDatabase } from '@txhook/test-kit';
import { LeaseQueue } from '../src/lease-queue';
import { transactionWebhookSchema } from '../src/schemas';

const DEADLINE_MS = 1_000;
/**
 * How long the server withholds the reply: far past the deadline, yet short, because the server
 * holds one of its network threads meanwhile, and other tests' connections on that thread wait too.
 */
const WITHHELD_MS = 8_000;
let withheldUntil = 0;
let database: FaultableDatabase;

beforeAll(async () => {
  database = await openFaultableDatabase('lease_deadline', { socketTimeoutMS: 0 });
});
afterAll(async () => {
  // The next test file shares the server: leave it with no reply still held back.
  await sleep(Math.max(0, withheldUntil - Date.now()));
  await database.drop();
});

it('a claim the database never answers fails by the deadline as a transient error; the next one claims', async () => {
  await database.repository.recordWebhook(transactionWebhookSchema.parse(sampleWebhook()));
  const queue = withCallDeadlines(new LeaseQueue(database.db), DEADLINE_MS, 'LeaseQueue');
  // Members that are not promises pass through untouched.
  expect(queue.claimMode).toBe('batch');
  expect(queue.clockNow()).toBeInstanceOf(Date);

  await database.inject({ commands: ['find', 'update', 'findAndModify'], delayMs: WITHHELD_MS, times: 1 });
  withheldUntil = Date.now() + WITHHELD_MS + 500;
  const started = performance.now();
  await expect(queue.claim('worker-a', 30_000, 10)).rejects.toBeInstanceOf(DatabaseNotReadyError);
  // The deadline plus a wide margin for a shared machine; without it the call never ended.
  expect(performance.now() - started).toBeLessThan(DEADLINE_MS + 4_000);

  await database.clear();
  const round = await queue.claim('worker-a', 30_000, 10);
  expect(round.claimed).toHaveLength(1);
}, 60_000);
