/**
 * Scale-in safety, short version of `pnpm bench autoscale`: KEDA's formula applied to a pool of
 * real worker processes (@txhook/test-kit, autoscaler.ts) while the webhook rate ramps up, holds,
 * halves and stops. With SHUTDOWN_GRACE_MS above a whole call, a scaled-in worker finishes its
 * calls before it exits: 0 lost, 0 processed twice, 0 calls repeated because of scale-in.
 */
import { e2eContext, e2eEnv, recordFigures, simulateAutoscale, startApi, startApp } from '@txhook/test-kit';

const CALL_MS = 2_000;
const CONCURRENCY = 10;
const env = e2eEnv('faults_autoscale', {
  PROCESSING_DELAY_MS: String(CALL_MS),
  // Above a whole call (plus margin): scale-in never cuts a call short.
  SHUTDOWN_GRACE_MS: String(CALL_MS * 3),
  LEASE_MS: '10000',
  POLL_INTERVAL_MS: '100',
  WORKER_CONCURRENCY: String(CONCURRENCY),
  LOG_LEVEL: 'debug',
});
const ctx = e2eContext(() => env);

it('scales a pool of workers up and in with the load, losing and repeating nothing', async () => {
  const { api, baseUrl } = await startApi(env);
  ctx.processes.push(api);
  const result = await simulateAutoscale(
    {
      baseUrl,
      collection: ctx.store.transactions,
      launchWorker: () => {
        const worker = startApp('worker', env);
        ctx.processes.push(worker);
        return worker;
      },
    },
    {
      phases: [
        { seconds: 15, fromRate: 2, toRate: 20 },
        { seconds: 20, fromRate: 20, toRate: 20 },
        { seconds: 12, fromRate: 7, toRate: 7 },
      ],
      tickMs: 2_000,
      queryValue: CONCURRENCY,
      activationQueryValue: 0,
      minReplicas: 1,
      maxReplicas: 6,
      cooldownMs: 6_000,
      settleTimeoutMs: 60_000,
    },
  );
  const { samples, ...figures } = result;
  recordFigures('autoscale', {
    ...figures,
    workers_over_time: samples.map((s) => [s.seconds, s.workers]),
  });

  expect(result.postsFailed).toBe(0);
  expect(result.accepted).toBeGreaterThan(300);
  expect(result.lost).toBe(0);
  expect(result.processedTwice).toBe(0);
  expect(result.callsRepeatedByScaleIn).toBe(0);
  expect(result.callsRepeated).toBe(0);
  expect(result.callsRepeatedByRecords).toBe(0);
  expect(result.releasedAtScaleIn).toBe(0);
  // The run really scaled: up beyond one worker, and in while workers had calls running.
  expect(result.maxWorkers).toBeGreaterThanOrEqual(3);
  expect(result.scaleIns).toBeGreaterThanOrEqual(2);
  expect(result.finishedDuringScaleIn).toBeGreaterThan(0);
  expect(samples[samples.length - 1]?.workers).toBe(1);
}, 240_000);
