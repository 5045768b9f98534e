/**
 * KEDA simulated with real processes: every tick, count the records KEDA's `mongodb` trigger
 * would count (`{"status":"PROCESSING"}`), apply `ceil(count / queryValue)` bounded by
 * min/max replicas, scale up at once and scale down only after a cooldown (the HPA's
 * stabilisation window: the largest recommendation of the last `cooldownMs` wins). Scaling up
 * starts worker processes; scaling in SIGTERMs the newest, as a ReplicaSet deletes the youngest
 * pods first. Meanwhile a load generator posts webhooks at a rate that follows `phases`.
 * Afterwards every worker's log is read: claims per transaction (each claim is one external call)
 * tell the calls made more than once.
 */
import type { Collection } from 'mongodb';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TransactionDocument } from '@txhook/transactions';
import type { AppProcess } from './launcher';
import { sampleWebhook } from './webhooks';

export interface LoadPhase {
  seconds: number;
  /** Webhooks per second at the start of the phase… */
  fromRate: number;
  /** …and at its end (linear in between). */
  toRate: number;
}

export interface AutoscaleProfile {
  phases: LoadPhase[];
  /** How often the scaler looks (KEDA's pollingInterval). */
  tickMs: number;
  /** Records per replica (the trigger's queryValue). */
  queryValue: number;
  /** At or below this count the target is minReplicas (activationQueryValue). */
  activationQueryValue: number;
  minReplicas: number;
  maxReplicas: number;
  /** Scale-down stabilisation window. */
  cooldownMs: number;
  /** After the load ends: how long to wait for every record to be PROCESSED and the pool at min. */
  settleTimeoutMs: number;
}

export interface AutoscaleSample {
  seconds: number;
  /** Records the trigger counted. */
  count: number;
  /** Replicas KEDA's formula asks for (bounded, before stabilisation). */
  desired: number;
  /** Worker processes running and not told to stop. */
  workers: number;
  /** Scaled-in workers still finishing their calls. */
  stopping: number;
  /** Target webhook rate of the load generator at that moment. */
  rate: number;
}

export interface AutoscaleResult {
  accepted: number;
  postsFailed: number;
  processed: number;
  lost: number;
  processedTwice: number;
  /** External calls made more than once (claims beyond the first, per transaction). */
  callsRepeated: number;
  /** The same, from the records' own `calls` counters (sum of calls - 1). */
  callsRepeatedByRecords: number;
  /** Of those, repeats of a call that a scaled-in worker started and did not finish. */
  callsRepeatedByScaleIn: number;
  /** Calls cut short at scale-in and released for another worker (grace too short). */
  releasedAtScaleIn: number;
  /** Calls that were running on a scaled-in worker and finished within its grace period. */
  finishedDuringScaleIn: number;
  workersStarted: number;
  scaleIns: number;
  maxWorkers: number;
  lagSeconds: { p50: number; p99: number; max: number };
  runSeconds: number;
  samples: AutoscaleSample[];
}

export interface AutoscaleDeps {
  baseUrl: string;
  collection: Collection<TransactionDocument>;
  /** Starts one worker process (logging at debug: every claim is a line) and returns at once. */
  launchWorker: () => AppProcess;
}

const TRIGGER_FILTER = { status: 'PROCESSING' } as const;

function rateAt(phases: LoadPhase[], seconds: number): number {
  let start = 0;
  for (const phase of phases) {
    if (seconds < start + phase.seconds) {
      return phase.fromRate + ((phase.toRate - phase.fromRate) * (seconds - start)) / phase.seconds;
    }
    start += phase.seconds;
  }
  return 0;
}

function percentileOf(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.max(0, Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** Posts webhooks at the phases' rate; resolves with the ids answered 202 and the failures. */
async function generateLoad(
  baseUrl: string,
  phases: LoadPhase[],
  started: number,
): Promise<{ accepted: string[]; failed: number }> {
  const total = phases.reduce((sum, phase) => sum + phase.seconds, 0);
  const accepted: string[] = [];
  let failed = 0;
  const posts: Promise<void>[] = [];
  let owed = 0;
  for (;;) {
    const seconds = (Date.now() - started) / 1000;
    if (seconds >= total) break;
    owed += rateAt(phases, seconds) / 10;
    for (; owed >= 1; owed--) {
      const body = sampleWebhook();
      posts.push(
        fetch(`${baseUrl}/v1/webhooks/transactions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(10_000),
        }).then(
          async (response) => {
            await response.arrayBuffer();
            if (response.status === 202) accepted.push(body.transaction_id);
            else failed++;
          },
          () => {
            failed++;
          },
        ),
      );
    }
    await sleep(100);
  }
  await Promise.all(posts);
  return { accepted, failed };
}

export async function simulateAutoscale(
  deps: AutoscaleDeps,
  profile: AutoscaleProfile,
): Promise<AutoscaleResult> {
  const started = Date.now();
  const all: AppProcess[] = [];
  const active: AppProcess[] = [];
  const scaledIn = new Set<AppProcess>();
  const recommendations: { at: number; desired: number }[] = [];
  const samples: AutoscaleSample[] = [];
  let scaleIns = 0;

  const scaleTo = (target: number) => {
    while (active.length < target) {
      const worker = deps.launchWorker();
      all.push(worker);
      active.push(worker);
    }
    while (active.length > target) {
      const victim = active.pop()!; // the youngest
      scaledIn.add(victim);
      scaleIns++;
      victim.kill('SIGTERM');
    }
  };

  let loadDone = false;
  const tick = async () => {
    const count = await deps.collection.countDocuments(TRIGGER_FILTER);
    const raw = count <= profile.activationQueryValue ? 0 : Math.ceil(count / profile.queryValue);
    const desired = Math.min(profile.maxReplicas, Math.max(profile.minReplicas, raw));
    const now = Date.now();
    recommendations.push({ at: now, desired });
    while (recommendations[0] && recommendations[0].at < now - profile.cooldownMs) recommendations.shift();
    const stabilised = Math.max(...recommendations.map((r) => r.desired));
    scaleTo(desired > active.length ? desired : Math.min(active.length, stabilised));
    const seconds = (now - started) / 1000;
    samples.push({
      seconds: Math.round(seconds * 10) / 10,
      count,
      desired,
      workers: active.length,
      stopping: [...scaledIn].filter((w) => w.running).length,
      rate: loadDone ? 0 : Math.round(rateAt(profile.phases, seconds) * 10) / 10,
    });
    // A worker that died on its own would be a finding: fail loudly rather than respawn silently.
    for (const worker of active) {
      if (!worker.running) throw new Error(`a worker exited unasked:\n${worker.rawOutput.join('\n')}`);
    }
    return count;
  };

  try {
    scaleTo(profile.minReplicas);
    const load = generateLoad(deps.baseUrl, profile.phases, started).finally(() => {
      loadDone = true;
    });
    while (!loadDone) {
      await tick();
      await sleep(profile.tickMs);
    }
    const { accepted, failed } = await load;
    // Keep scaling until the queue is empty and the pool back at its minimum.
    const settleBy = Date.now() + profile.settleTimeoutMs;
    for (;;) {
      const count = await tick();
      const stopping = [...scaledIn].some((w) => w.running);
      if (count === 0 && active.length === profile.minReplicas && !stopping) break;
      if (Date.now() > settleBy) break;
      await sleep(profile.tickMs);
    }
    const runSeconds = (Date.now() - started) / 1000;
    await Promise.all(active.map((worker) => worker.stop(60_000)));
    await Promise.all([...scaledIn].map((worker) => worker.exited));

    const records = await deps.collection
      .find(
        { transaction_id: { $in: accepted } },
        { projection: { status: 1, created_at: 1, processed_at: 1, calls: 1 } },
      )
      .toArray();
    const processedRecords = records.filter((r) => r.status === 'PROCESSED' && r.processed_at);
    const lags = processedRecords
      .map((r) => (r.processed_at!.getTime() - r.created_at.getTime()) / 1000)
      .sort((a, b) => a - b);

    // Every external call a worker starts is logged; calls after the first of a transaction are
    // repeats. The record's own `calls` counter (written before each call) must agree.
    const claims = new Map<string, AppProcess[]>();
    const processedLines = new Map<string, number>();
    const finishedBy = new Map<AppProcess, Set<string>>();
    let released = 0;
    let finishedDuringScaleIn = 0;
    for (const worker of all) {
      for (const line of worker.logsWith('external call started')) {
        const id = String(line.transaction_id);
        claims.set(id, [...(claims.get(id) ?? []), worker]);
      }
      const finished = new Set<string>();
      for (const line of worker.logsWith('transaction processed')) {
        const id = String(line.transaction_id);
        processedLines.set(id, (processedLines.get(id) ?? 0) + 1);
        finished.add(id);
      }
      finishedBy.set(worker, finished);
      if (scaledIn.has(worker)) {
        const stopped = worker.logsWith('worker stopped')[0];
        released += Number(stopped?.released ?? 0);
        finishedDuringScaleIn += Number(stopped?.finished ?? 0);
      }
    }
    let callsRepeated = 0;
    let callsRepeatedByScaleIn = 0;
    for (const [id, holders] of claims) {
      callsRepeated += holders.length - 1;
      // A call a scaled-in worker claimed but never finished ran again elsewhere.
      if (holders.length > 1) {
        callsRepeatedByScaleIn += holders.filter(
          (w) => scaledIn.has(w) && !finishedBy.get(w)?.has(id),
        ).length;
      }
    }
    const recordedRepeats = records.reduce((sum, r) => sum + Math.max(0, (r.calls ?? 0) - 1), 0);
    return {
      accepted: accepted.length,
      postsFailed: failed,
      callsRepeatedByRecords: recordedRepeats,
      processed: processedRecords.length,
      lost: accepted.length - processedRecords.length,
      processedTwice: [...processedLines.values()].filter((n) => n > 1).length,
      callsRepeated,
      callsRepeatedByScaleIn,
      releasedAtScaleIn: released,
      finishedDuringScaleIn,
      workersStarted: all.length,
      scaleIns,
      maxWorkers: Math.max(0, ...samples.map((s) => s.workers)),
      lagSeconds: {
        p50: Math.round(percentileOf(lags, 50) * 100) / 100,
        p99: Math.round(percentileOf(lags, 99) * 100) / 100,
        max: Math.round((lags[lags.length - 1] ?? NaN) * 100) / 100,
      },
      runSeconds: Math.round(runSeconds),
      samples,
    };
  } finally {
    // Whatever happened, no worker outlives the run.
    await Promise.all(all.map((worker) => worker.stop(60_000)));
  }
}
