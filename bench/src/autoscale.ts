/**
 * `pnpm bench autoscale`: scale-in safety with real 30 s calls. KEDA's formula drives a pool of
 * real worker processes (simulateAutoscale, @txhook/test-kit) while the webhook rate ramps up, holds,
 * halves and stops. Run twice on the same profile: with SHUTDOWN_GRACE_MS above a call (the
 * setting the manifests must use) and, as the control, with a grace shorter than a call, which
 * shows what the measurement catches when scale-in cuts calls short.
 */
import type { TransactionDocument } from '@txhook/transactions';
import { simulateAutoscale, type AutoscaleProfile, type AutoscaleResult } from '@txhook/test-kit';
import { launchWorker, withStack } from './harness';

export interface AutoscaleRun {
  label: string;
  callMs: number;
  graceMs: number;
  concurrency: number;
  profile: AutoscaleProfile;
  result: AutoscaleResult;
}

const CALL_MS = 30_000;
const CONCURRENCY = 50;

export const AUTOSCALE_PROFILE: AutoscaleProfile = {
  phases: [
    { seconds: 40, fromRate: 1, toRate: 10 },
    { seconds: 40, fromRate: 10, toRate: 10 },
    { seconds: 30, fromRate: 4, toRate: 4 },
  ],
  tickMs: 5_000,
  queryValue: CONCURRENCY,
  activationQueryValue: 0,
  minReplicas: 1,
  maxReplicas: 8,
  // KEDA/HPA default to 300 s; shortened so a run takes minutes, the mechanism is the same.
  cooldownMs: 30_000,
  settleTimeoutMs: 180_000,
};

async function run(mongoUrl: string, label: string, graceMs: number): Promise<AutoscaleRun> {
  const settings = {
    PROCESSING_DELAY_MS: String(CALL_MS),
    SHUTDOWN_GRACE_MS: String(graceMs),
    LEASE_MS: '60000',
    POLL_INTERVAL_MS: '200',
    WORKER_CONCURRENCY: String(CONCURRENCY),
  };
  // No workers of its own: the simulated autoscaler starts and stops them.
  return withStack(mongoUrl, 'autoscale', settings, 0, async ({ baseUrl, env, db }) => {
    const result = await simulateAutoscale(
      {
        baseUrl,
        collection: db.collection<TransactionDocument>('transactions'),
        // Built JavaScript in production mode, as deployed; debug logs every call start.
        launchWorker: () => launchWorker({ ...env, LOG_LEVEL: 'debug' }),
      },
      AUTOSCALE_PROFILE,
    );
    return { label, callMs: CALL_MS, graceMs, concurrency: CONCURRENCY, profile: AUTOSCALE_PROFILE, result };
  });
}

/** The safe setting, asserted; then the control with a grace shorter than a call. */
export async function autoscaleRuns(mongoUrl: string): Promise<AutoscaleRun[]> {
  console.log('autoscale: grace 40 s > 30 s call');
  const safe = await run(mongoUrl, 'grace 40 s (> call)', 40_000);
  const { samples: _samples, ...figures } = safe.result;
  console.log(`autoscale: ${JSON.stringify(figures)}`);
  const problems = [
    safe.result.lost !== 0 && `${safe.result.lost} lost`,
    safe.result.processedTwice !== 0 && `${safe.result.processedTwice} processed twice`,
    safe.result.callsRepeated !== 0 && `${safe.result.callsRepeated} calls repeated`,
  ].filter(Boolean);
  if (problems.length > 0) throw new Error(`autoscale with a grace above a call: ${problems.join(', ')}`);
  console.log('autoscale: control, grace 5 s < 30 s call');
  const control = await run(mongoUrl, 'grace 5 s (< call, control)', 5_000);
  return [safe, control];
}
