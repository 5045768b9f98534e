/**
 * Fault 4: the external call fails 30% of the time. Every record ends PROCESSED or FAILED per the
 * retry policy, and each record's attempt count matches the failures injected into it.
 */
import {
  e2eContext,
  e2eEnv,
  mapLimit,
  postWebhook,
  recordFigures,
  requestJson,
  sampleWebhook,
  startApi,
  startWorker,
  waitForRecords,
} from '@txhook/test-kit';

const TRANSACTIONS = 500;
const MAX_ATTEMPTS = 3;
const env = e2eEnv('faults_failures', {
  PROCESSING_DELAY_MS: '200',
  EXTERNAL_CALL_FAILURE_RATE: '0.3',
  MAX_ATTEMPTS: String(MAX_ATTEMPTS),
  RETRY_BASE_DELAY_MS: '100',
  RETRY_MAX_DELAY_MS: '400',
});

const ctx = e2eContext(() => env);

const settled = { status: { $in: ['PROCESSED' as const, 'FAILED' as const] } };

it('retries failed calls with backoff and ends every record PROCESSED or FAILED, attempts matching', async () => {
  const started = Date.now();
  const { api, baseUrl } = await startApi(env);
  const workers = await Promise.all([startWorker(env), startWorker(env)]);
  ctx.processes.push(api, ...workers);

  const bodies = Array.from({ length: TRANSACTIONS }, () => sampleWebhook());
  await mapLimit(bodies, 20, async (body) => expect((await postWebhook(baseUrl, body)).status).toBe(202));
  await waitForRecords(ctx.store, settled, TRANSACTIONS, 90_000);

  // What the workers logged, per transaction: injected failures and successes.
  const failures = new Map<string, number>();
  const successes = new Map<string, number>();
  for (const worker of workers) {
    for (const line of worker.logs) {
      const id = String(line.transaction_id);
      if (
        line.message === 'transaction attempt failed, will retry' ||
        line.message === 'transaction failed'
      ) {
        failures.set(id, (failures.get(id) ?? 0) + 1);
      } else if (line.message === 'transaction processed') {
        successes.set(id, (successes.get(id) ?? 0) + 1);
      }
    }
  }

  const records = await ctx.store.transactions.find().toArray();
  expect(records).toHaveLength(TRANSACTIONS);
  const mismatches: string[] = [];
  for (const record of records) {
    const failed = failures.get(record.transaction_id) ?? 0;
    const succeeded = successes.get(record.transaction_id) ?? 0;
    const consistent =
      record.attempts === failed &&
      record.calls === failed + succeeded &&
      record.lease_token === null &&
      (record.status === 'FAILED'
        ? failed === MAX_ATTEMPTS &&
          succeeded === 0 &&
          record.processed_at === null &&
          record.last_error === 'simulated external call failure'
        : record.status === 'PROCESSED' &&
          succeeded === 1 &&
          failed < MAX_ATTEMPTS &&
          record.last_error === (failed > 0 ? 'simulated external call failure' : null));
    if (!consistent)
      mismatches.push(`${record.transaction_id}: ${JSON.stringify({ record, failed, succeeded })}`);
  }
  expect(mismatches).toEqual([]);
  const totalFailures = [...failures.values()].reduce((a, b) => a + b, 0);
  const totalCalls = records.reduce((sum, record) => sum + record.calls, 0);
  const failureShare = totalFailures / totalCalls;
  expect(failureShare).toBeGreaterThan(0.2);
  expect(failureShare).toBeLessThan(0.4);
  const failedIds = records.filter((r) => r.status === 'FAILED').map((r) => r.transaction_id);
  expect(failedIds.length).toBeGreaterThan(0); // ~0.3^3 = 2.7% expected

  // Operators requeue FAILED records; they run again with a fresh budget.
  for (const id of failedIds) {
    const response = await requestJson<{ status: string }>(`${baseUrl}/v1/transactions/${id}/retry`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(response.status).toBe(202);
  }
  await waitForRecords(ctx.store, settled, TRANSACTIONS, 30_000);
  const afterRequeue = await ctx.store.transactions.countDocuments({ status: 'PROCESSED' });
  expect(afterRequeue).toBeGreaterThan(TRANSACTIONS - failedIds.length);

  recordFigures('failing-calls', {
    transactions: TRANSACTIONS,
    injected_failure_rate: 0.3,
    max_attempts: MAX_ATTEMPTS,
    calls: totalCalls,
    injected_failures: totalFailures,
    observed_failure_share: Number(failureShare.toFixed(3)),
    processed: TRANSACTIONS - failedIds.length,
    failed_after_max_attempts: failedIds.length,
    attempt_count_mismatches: mismatches.length,
    processed_after_requeue_of_failed: afterRequeue,
    run_seconds: Math.round((Date.now() - started) / 1000),
  });
});
