/** Several worker processes share one queue; a worker killed mid-call loses nothing. */
import {
  e2eContext,
  e2eEnv,
  mapLimit,
  postWebhook,
  processedCounts,
  sampleWebhook,
  startApi,
  startWorker,
  waitFor,
  waitForRecords,
} from '@txhook/test-kit';

describe('3 worker processes, 500 transactions', () => {
  const env = e2eEnv('scale', { PROCESSING_DELAY_MS: '1000', LEASE_MS: '5000' });

  const ctx = e2eContext(() => env);

  it('processes every transaction exactly once', async () => {
    const { api, baseUrl } = await startApi(env);
    ctx.processes.push(api);
    const workers = await Promise.all([startWorker(env), startWorker(env), startWorker(env)]);
    ctx.processes.push(...workers);

    const bodies = Array.from({ length: 500 }, () => sampleWebhook());
    const statuses = await mapLimit(bodies, 20, async (body) => (await postWebhook(baseUrl, body)).status);
    expect(statuses.every((status) => status === 202)).toBe(true);

    await waitForRecords(ctx.store, { status: 'PROCESSED' }, 500, 60_000);

    expect(await ctx.store.transactions.countDocuments()).toBe(500);
    // Each claimed once (no lease ever expired) and finished once by exactly one worker.
    expect(await ctx.store.transactions.countDocuments({ claims: 1, calls: 1 })).toBe(500);
    const counts = await processedCounts(workers, 500);
    expect(counts.size).toBe(500);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    for (const body of bodies) expect(counts.has(body.transaction_id)).toBe(true);
    // The work was shared, not done by one process while the others idled.
    const perWorker = workers.map((w) => w.logsWith('transaction processed').length);
    expect(perWorker.filter((n) => n > 0).length).toBeGreaterThanOrEqual(2);
  }, 120_000);
});

describe('a worker SIGKILLed in the middle of its calls', () => {
  const env = e2eEnv('crash', { PROCESSING_DELAY_MS: '4000', LEASE_MS: '2000', LOG_LEVEL: 'debug' });

  const ctx = e2eContext(() => env);

  it('leaves its records to another worker once the leases expire; nothing is lost', async () => {
    const { api, baseUrl } = await startApi(env);
    ctx.processes.push(api);
    const doomed = await startWorker(env);
    ctx.processes.push(doomed);

    const bodies = Array.from({ length: 20 }, () => sampleWebhook());
    for (const body of bodies) expect((await postWebhook(baseUrl, body)).status).toBe(202);
    await waitFor(
      'all 20 claimed by the first worker',
      () => (doomed.logsWith('transaction claimed').length === 20 ? true : undefined),
      15_000,
    );

    doomed.kill('SIGKILL');
    const killedAt = Date.now();
    expect((await doomed.exited).signal).toBe('SIGKILL');
    expect(doomed.logsWith('transaction processed')).toHaveLength(0);

    const rescuer = await startWorker(env);
    ctx.processes.push(rescuer);
    await waitForRecords(ctx.store, { status: 'PROCESSED' }, 20, 30_000);

    const records = await ctx.store.transactions.find().toArray();
    expect(records).toHaveLength(20);
    for (const record of records) {
      expect(record.claims).toBe(2); // the lost claim, then the rescuer's
      expect(record.attempts).toBe(0); // a crash is not a failed call
      expect(record.lease_token).toBeNull();
      // The rescuer waited for the lease to run out, then ran the full call.
      expect(record.processed_at!.getTime()).toBeGreaterThanOrEqual(killedAt + 4_000);
    }
    const counts = await processedCounts([doomed, rescuer], 20);
    expect(counts.size).toBe(20);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
  }, 90_000);
});
