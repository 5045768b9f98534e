/**
 * Fault 3: the database stops answering for ~10 s under load (SIGSTOP/SIGCONT of the server
 * process), then is really stopped and restarted (H2 backend: its data file persists). The API
 * answers 503 meanwhile and no other 5xx, health turns UNHEALTHY, both apps recover by
 * themselves, and nothing acknowledged is lost. Uses a database server of its own.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startEmbeddedMongo, type EmbeddedMongo } from '@txhook/embedded-mongo';
import {
  type AppProcess,
  e2eEnv,
  freePort,
  openCollection,
  NoAnswerError,
  postWebhook,
  recordFigures,
  requestJson,
  sampleWebhook,
  sleep,
  startApi,
  startWorker,
  stopAll,
  waitFor,
} from '@txhook/test-kit';

type Outcome = number | 'network-error' | 'no-answer';

interface LoadResult {
  sent: Map<string, ReturnType<typeof sampleWebhook>>;
  outcomes: { id: string; outcome: Outcome; at: number }[];
}

/** Sends unique webhooks at `perSecond` for `durationMs` (at most 200 outstanding), recording every answer. */
async function runLoad(baseUrl: string, perSecond: number, durationMs: number): Promise<LoadResult> {
  const result: LoadResult = { sent: new Map(), outcomes: [] };
  const pending = new Set<Promise<void>>();
  const end = Date.now() + durationMs;
  while (Date.now() < end) {
    if (pending.size < 200) {
      const body = sampleWebhook();
      result.sent.set(body.transaction_id, body);
      const request: Promise<void> = postWebhook(baseUrl, body)
        .then(
          (response) => response.status as Outcome,
          (error: unknown): Outcome => (error instanceof NoAnswerError ? 'no-answer' : 'network-error'),
        )
        .then((outcome) => {
          result.outcomes.push({ id: body.transaction_id, outcome, at: Date.now() });
          pending.delete(request);
        });
      pending.add(request);
    }
    await sleep(1000 / perSecond);
  }
  await Promise.all(pending);
  return result;
}

/** GET / within 10 s: its status code, or what went wrong instead (which fails the test's check). */
async function healthStatus(baseUrl: string): Promise<number | string> {
  try {
    return (await requestJson(`${baseUrl}/`, { signal: AbortSignal.timeout(10_000) })).status;
  } catch (error) {
    return String(error);
  }
}

function countBy(outcomes: { outcome: Outcome }[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const { outcome } of outcomes) counts[String(outcome)] = (counts[String(outcome)] ?? 0) + 1;
  return counts;
}

const processes: AppProcess[] = [];
let closeStore: (() => Promise<void>) | undefined;
let database: EmbeddedMongo | undefined;
let dir = '';
/** When each phase began (seconds from the start): a failure, a time-out included, says how far it got. */
const timeline: string[] = [];
let testStarted = Date.now();
function reached(phase: string): void {
  timeline.push(`${((Date.now() - testStarted) / 1000).toFixed(1)} s ${phase}`);
}

afterAll(async () => {
  // Printed whatever happened: after a time-out this is the only account of where the test stood.
  process.stderr.write(`database-outage timeline:\n  ${timeline.join('\n  ')}\n`);
  await closeStore?.();
  await stopAll(processes);
  if (database?.process.pid) process.kill(database.process.pid, 'SIGCONT');
  await database?.stop();
  rmSync(dir, { recursive: true, force: true });
});

it('answers 503 while the database is away, recovers by itself and loses nothing', async () => {
  const started = Date.now();
  testStarted = started;
  dir = mkdtempSync(path.join(tmpdir(), 'txhook-outage-'));
  const port = await freePort();
  const serverOptions = { backend: 'h2' as const, h2File: path.join(dir, 'data.mv'), port };
  database = await startEmbeddedMongo(serverOptions);
  const env = e2eEnv('faults_outage', {
    MONGODB_URL: `mongodb://127.0.0.1:${port}`,
    MONGODB_TIMEOUT_MS: '2000',
    PROCESSING_DELAY_MS: '1000',
    LEASE_MS: '20000',
  });
  const store = await openCollection(env);
  // Closed in afterAll too: a failed expectation must not leave the client open (Jest would hang).
  closeStore = () => store.close();
  const { api, baseUrl } = await startApi(env);
  processes.push(api, await startWorker(env));

  // Phase 1: the server process freezes (SIGSTOP) for 10 s during the load. The health probe runs
  // beside the clock, not on its path: however it ends, the server is thawed on time.
  let healthDuringFreeze: number | string = 0;
  const freeze = (async () => {
    await sleep(5_000);
    process.kill(database.process.pid!, 'SIGSTOP');
    reached('database frozen');
    const probe = sleep(3_000).then(() => healthStatus(baseUrl));
    await sleep(10_000);
    process.kill(database.process.pid!, 'SIGCONT');
    reached('database thawed');
    const thawedAt = Date.now();
    healthDuringFreeze = await probe;
    return thawedAt;
  })();
  reached('apps started; load with a freeze');
  const frozenLoad = await runLoad(baseUrl, 40, 22_000);
  const thawedAt = await freeze;

  // Phase 2: the server is stopped for real and started again on the same data file.
  let healthDuringStop: number | string = 0;
  const restart = (async () => {
    await sleep(5_000);
    await database.stop();
    reached('database stopped');
    const probe = sleep(2_000).then(() => healthStatus(baseUrl));
    await sleep(5_000);
    database = await startEmbeddedMongo(serverOptions);
    reached('database started again');
    const restartedAt = Date.now();
    healthDuringStop = await probe;
    return restartedAt;
  })();
  reached('load with a restart');
  const restartLoad = await runLoad(baseUrl, 40, 22_000);
  const restartedAt = await restart;
  reached(
    `loads done: ${JSON.stringify(countBy(frozenLoad.outcomes))} ${JSON.stringify(countBy(restartLoad.outcomes))}`,
  );

  for (const [load, recoveredAt] of [
    [frozenLoad, thawedAt],
    [restartLoad, restartedAt],
  ] as const) {
    const counts = countBy(load.outcomes);
    // Only 202 or 503: never a 500, never a dropped connection.
    expect(Object.keys(counts).sort()).toEqual(['202', '503']);
    expect(counts['503']).toBeGreaterThan(0);
    // Recovered by itself: webhooks were accepted again after the database came back.
    expect(load.outcomes.some((o) => o.outcome === 202 && o.at > recoveredAt)).toBe(true);
  }
  expect(healthDuringFreeze).toBe(503);
  expect(healthDuringStop).toBe(503);

  // Senders retry what got 503; then every transaction is stored once and PROCESSED.
  const all = new Map([...frozenLoad.sent, ...restartLoad.sent]);
  // All at once, as senders whose retry timers fire together would; a 503 in that burst is a
  // correct answer to overload (it says "retry"), so what is still refused is retried again after
  // a pause, as a sender honouring Retry-After does. Any other answer fails the test.
  let refused: { id: string }[] = [...frozenLoad.outcomes, ...restartLoad.outcomes].filter(
    (o) => o.outcome === 503,
  );
  const retryRounds: Record<string, number>[] = [];
  for (let round = 0; refused.length > 0 && round < 5; round++) {
    if (round > 0) await sleep(2_000);
    const answers = await Promise.all(
      refused.map(async ({ id }) => ({
        id,
        outcome: (await postWebhook(baseUrl, all.get(id))).status as Outcome,
      })),
    );
    retryRounds.push(countBy(answers));
    reached(`retry round ${round + 1}: ${JSON.stringify(countBy(answers))}`);
    refused = answers.filter((answer) => answer.outcome === 503);
  }
  const retryStatuses = retryRounds.flatMap((round) => Object.keys(round));
  expect(retryStatuses.every((status) => ['200', '202', '503'].includes(status))).toBe(true);
  expect(refused).toHaveLength(0);
  reached('waiting for all PROCESSED');
  await waitFor(
    'all PROCESSED',
    async () =>
      (await store.transactions.countDocuments({ status: 'PROCESSED' })) === all.size ? true : undefined,
    60_000,
    250,
  );
  const stored = await store.transactions.countDocuments();
  expect(stored).toBe(all.size);
  const acknowledged = [...frozenLoad.outcomes, ...restartLoad.outcomes].filter((o) => o.outcome === 202);
  const acknowledgedStored = await store.transactions.countDocuments({
    transaction_id: { $in: acknowledged.map((o) => o.id) },
    status: 'PROCESSED',
  });
  expect(acknowledgedStored).toBe(acknowledged.length);
  await store.close();

  recordFigures('database-outage', {
    load_requests_per_second: 40,
    freeze_seconds: 10,
    stop_seconds: 5,
    during_freeze_phase: countBy(frozenLoad.outcomes),
    during_restart_phase: countBy(restartLoad.outcomes),
    health_during_outage: [healthDuringFreeze, healthDuringStop],
    refused_503_then_retried_by_round: retryRounds,
    acknowledged_202: acknowledged.length,
    lost: acknowledged.length - acknowledgedStored,
    other_5xx: [...frozenLoad.outcomes, ...restartLoad.outcomes].filter(
      (o) => typeof o.outcome === 'number' && o.outcome >= 500 && o.outcome !== 503,
    ).length,
    run_seconds: Math.round((Date.now() - started) / 1000),
  });
});
