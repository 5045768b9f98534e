/**
 * Mixed load: ingest at 64 connections while real worker processes drain what is being posted,
 * against the API alone in the same run (same database server, same duration, one after another).
 */
import { postLoad, type LoadResult } from './load';
import { withStack } from './harness';

export interface MixedRow {
  /** e.g. "API alone", "API + 1 worker" */
  scenario: string;
  workers: number;
  callMs: number;
  load: LoadResult;
}

export interface MixedOptions {
  durationSeconds: number;
  callMs: number;
  workerCounts: readonly number[];
  /** Extra environment for the API and workers (e.g. NODE_OPTIONS=--cpu-prof for a profile). */
  env?: Record<string, string>;
}

async function scenario(mongoUrl: string, workers: number, options: MixedOptions): Promise<LoadResult> {
  const settings = { PROCESSING_DELAY_MS: String(options.callMs), ...options.env };
  return withStack(mongoUrl, 'mixed', settings, workers, async ({ baseUrl }) => {
    const url = `${baseUrl}/v1/webhooks/transactions`;
    // Warm-up (JIT, pools): short, so the workers have little backlog when the measurement starts.
    await postLoad({ url, connections: 64, durationSeconds: 2 });
    return postLoad({ url, connections: 64, durationSeconds: options.durationSeconds });
  });
}

/** API alone first, then with each worker count; every row is compared with that first row. */
export async function mixedLoad(mongoUrl: string, options: MixedOptions): Promise<MixedRow[]> {
  const rows: MixedRow[] = [];
  for (const workers of [0, ...options.workerCounts]) {
    const name = workers === 0 ? 'API alone' : `API + ${workers} worker${workers > 1 ? 's' : ''}`;
    console.log(`mixed: ${name}, ${options.callMs / 1000} s calls, ${options.durationSeconds} s`);
    rows.push({
      scenario: name,
      workers,
      callMs: options.callMs,
      load: await scenario(mongoUrl, workers, options),
    });
  }
  return rows;
}

/** The goal for one row against the API-alone row of the same run. */
export function mixedVerdict(row: MixedRow, alone: MixedRow) {
  const slow = row.load.over500ms + row.load.timeouts;
  const throughput = row.load.requestsPerSecond / alone.load.requestsPerSecond;
  const p99Ratio = row.load.p99 / alone.load.p99;
  return {
    slow,
    throughput,
    p99Ratio,
    met: slow === 0 && p99Ratio <= 2 && throughput >= 0.8,
  };
}
