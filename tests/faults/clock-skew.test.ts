/**
 * Issue 9, finding 4: two workers whose wall clocks are 45 s ahead and 45 s behind (libfaketime).
 * Lease times come from the database's clock, so neither takes a live lease of the other, and
 * neither loses its own. The backlog is due since a minute ago (so the worker 45 s behind sees it
 * due too); it takes the backlog, then the worker 45 s ahead starts while those leases are live.
 */
import {
  e2eContext,
  e2eEnv,
  postWebhook,
  recordFigures,
  sampleWebhook,
  startApi,
  startWorker,
  waitFor,
  waitForRecords,
} from '@txhook/test-kit';

const BACKLOG = 40;
const LATE = 10;
const env = e2eEnv('faults_skew', {
  // Calls long enough that the second worker starts while the first holds live, heartbeated leases.
  PROCESSING_DELAY_MS: '8000',
  LEASE_MS: '2000',
  LOG_LEVEL: 'debug',
  CLAIM_BATCH_SIZE: '5',
  WORKER_CONCURRENCY: '100',
});
const ctx = e2eContext(() => env);

it('workers at +45 s and -45 s: no lease stolen or lost, every record called once', async () => {
  const { api, baseUrl } = await startApi(env);
  ctx.processes.push(api);
  for (let i = 0; i < BACKLOG; i++) expect((await postWebhook(baseUrl, sampleWebhook())).status).toBe(202);
  // A backlog due since a minute ago (an outage, say): due for either worker, whatever its clock.
  const minuteAgo = new Date(Date.now() - 60_000);
  await ctx.store.transactions.updateMany({}, { $set: { created_at: minuteAgo, due_at: minuteAgo } });

  const behind = await startWorker(env, { clockOffset: '-45s' });
  ctx.processes.push(behind);
  await waitFor(
    'behind claims',
    () => (behind.logsWith('transaction claimed').length > 0 ? true : undefined),
    20_000,
  );
  const ahead = await startWorker(env, { clockOffset: '+45s' });
  ctx.processes.push(ahead);
  // Fresh webhooks too (created now by the API's true clock): both workers must see them due.
  for (let i = 0; i < LATE; i++) expect((await postWebhook(baseUrl, sampleWebhook())).status).toBe(202);

  await waitForRecords(ctx.store, { status: 'PROCESSED' }, BACKLOG + LATE, 90_000);
  // Leases claimed, per record, over both workers: a stolen lease is a second claim.
  const claimsLogged = new Map<string, number>();
  for (const worker of [behind, ahead]) {
    for (const line of worker.logsWith('transaction claimed')) {
      const id = String(line.transaction_id);
      claimsLogged.set(id, (claimsLogged.get(id) ?? 0) + 1);
    }
  }
  const claimedTwice = [...claimsLogged].filter(([, n]) => n > 1).map(([id]) => id);
  expect(claimedTwice).toEqual([]);
  for (const worker of [behind, ahead]) {
    expect(worker.logs.filter((line) => String(line.message).startsWith('lease lost'))).toEqual([]);
  }
  const records = await ctx.store.transactions.find().toArray();
  for (const record of records) {
    expect({ id: record.transaction_id, calls: record.calls, claims: record.claims }).toEqual({
      id: record.transaction_id,
      calls: 1,
      claims: 1,
    });
  }
  const skewSeen = [behind, ahead].map((worker) => worker.logsWith('database clock synced')[0]?.offset_ms);
  const loggedProcessed = () =>
    [behind, ahead].map((worker) => worker.logsWith('transaction processed').length);
  // A record is PROCESSED in the database a moment before its worker's log line reaches us.
  await waitFor(
    'every processed record logged',
    () => (loggedProcessed().reduce((sum, n) => sum + n, 0) >= BACKLOG + LATE ? true : undefined),
    10_000,
  ).catch(() => undefined); // the count is asserted exactly below
  const processedBy = loggedProcessed();
  expect(processedBy[0]! + processedBy[1]!).toBe(BACKLOG + LATE);
  expect(processedBy[0]).toBeGreaterThan(0);
  recordFigures('clock-skew', {
    transactions: BACKLOG + LATE,
    clock_offsets: ['-45s', '+45s'],
    database_clock_offset_ms_measured: skewSeen,
    processed_by_worker: processedBy,
    calls_per_record_max: Math.max(...records.map((record) => record.calls)),
    claims_per_record_max: Math.max(...records.map((record) => record.claims)),
    leases_lost: 0,
  });
});
