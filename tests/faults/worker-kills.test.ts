/**
 * Fault 1: 2,000 transactions, 3 workers, one SIGKILLed every 3 s and restarted, 5 kills in all.
 * Expect 0 lost, 0 processed twice, and consistent attempts/lease fields on every record.
 */
import {
  e2eContext,
  e2eEnv,
  mapLimit,
  postWebhook,
  recordFigures,
  sampleWebhook,
  sleep,
  startApi,
  startWorker,
  waitForRecords,
} from '@txhook/test-kit';

const TRANSACTIONS = 2_000;
const KILLS = 5;
const env = e2eEnv('faults_kills', {
  PROCESSING_DELAY_MS: '4000',
  LEASE_MS: '2000',
  POLL_INTERVAL_MS: '100',
  LOG_LEVEL: 'debug',
});

const ctx = e2eContext(() => env);

it('loses nothing and processes nothing twice while workers are killed', async () => {
  const started = Date.now();
  const { api, baseUrl } = await startApi(env);
  ctx.processes.push(api);
  const slots = await Promise.all([startWorker(env), startWorker(env), startWorker(env)]);
  ctx.processes.push(...slots);

  const ingestStarted = Date.now();
  const bodies = Array.from({ length: TRANSACTIONS }, () => sampleWebhook());
  const killer = (async () => {
    let inFlightKilled = 0;
    for (let kill = 0; kill < KILLS; kill++) {
      await sleep(3_000);
      const slot = kill % slots.length;
      const victim = slots[slot]!;
      victim.kill('SIGKILL');
      await victim.exited;
      inFlightKilled +=
        victim.logsWith('transaction claimed').length - victim.logsWith('transaction processed').length;
      const replacement = await startWorker(env);
      ctx.processes.push(replacement);
      slots[slot] = replacement;
    }
    return inFlightKilled;
  })();
  const statuses = await mapLimit(bodies, 32, async (body) => (await postWebhook(baseUrl, body)).status);
  const ingestSeconds = (Date.now() - ingestStarted) / 1000;
  expect(statuses.filter((status) => status === 202)).toHaveLength(TRANSACTIONS);
  const inFlightKilled = await killer;

  await waitForRecords(ctx.store, { status: 'PROCESSED' }, TRANSACTIONS, 120_000);

  const records = await ctx.store.transactions.find().toArray();
  expect(records).toHaveLength(TRANSACTIONS);
  for (const record of records) {
    expect(record.status).toBe('PROCESSED');
    expect(record.claims).toBeGreaterThanOrEqual(1);
    expect(record.attempts).toBe(0); // a crash is not a failed call
    expect(record.lease_owner).toBeNull();
    expect(record.lease_token).toBeNull();
    expect(record.lease_expires_at).toBeNull();
    expect(record.last_error).toBeNull();
    expect(record.processed_at!.getTime() - record.created_at.getTime()).toBeGreaterThanOrEqual(4_000);
  }
  // A finish is fenced by the lease token, so no transaction can be finished by two workers.
  const processedLogs = new Map<string, number>();
  for (const worker of ctx.processes.slice(1)) {
    for (const line of worker.logsWith('transaction processed')) {
      const id = String(line.transaction_id);
      processedLogs.set(id, (processedLogs.get(id) ?? 0) + 1);
    }
  }
  const processedTwice = [...processedLogs.values()].filter((n) => n > 1).length;
  expect(processedTwice).toBe(0);
  // The kills really hit work in progress, which was then taken over after lease expiry.
  expect(inFlightKilled).toBeGreaterThan(0);
  const reclaimed = records.filter((record) => record.claims > 1).length;
  expect(reclaimed).toBeGreaterThan(0);

  recordFigures('worker-kills', {
    transactions: TRANSACTIONS,
    workers: 3,
    kills: KILLS,
    in_flight_calls_killed: inFlightKilled,
    records_reclaimed_after_lease_expiry: reclaimed,
    lost: TRANSACTIONS - records.filter((r) => r.status === 'PROCESSED').length,
    processed_twice: processedTwice,
    ingest_requests_per_second: Math.round(TRANSACTIONS / ingestSeconds),
    run_seconds: Math.round((Date.now() - started) / 1000),
  });
});
