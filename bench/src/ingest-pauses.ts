/**
 * The API alone against one stand-in per collector setting, one after another (bench/analysis.md,
 * "The stand-in's young pauses"): 64 connections as fast as they go, then 1,000 webhooks/s, twice
 * each, 10 s per load after a 3 s warm-up. Prints each load's throughput and latency and the
 * database's stops that ended during it (its safepoint log). A setting is `collector[:pause goal ms]`.
 * `bash scripts/ts.sh bench/src/ingest-pauses.ts [backend=memory] g1:200 g1:20 shenandoah ...`
 */
import { EMBEDDED_GCS, type EmbeddedBackend, type EmbeddedGc } from '@txhook/embedded-mongo';
import { withDatabase } from './database-variant';
import { loadAverage, startApi } from './harness';
import { jvmPausesBetween } from './jvm-pauses';
import { postLoad } from './load';

const LOADS: [string, number | undefined][] = [
  ['64 connections', undefined],
  ['1,000 req/s', 1_000],
  ['64 connections', undefined],
  ['1,000 req/s', 1_000],
];

async function measure(backend: EmbeddedBackend, setting: string): Promise<void> {
  const [gc = '', pause] = setting.split(':');
  if (!EMBEDDED_GCS.includes(gc as EmbeddedGc)) throw new Error(`unknown collector in ${setting}`);
  const variant = {
    backend,
    gc: gc as EmbeddedGc,
    ...(pause ? { gcPauseTargetMs: Number(pause) } : {}),
    label: `${backend}, ${setting}`,
  };
  await withDatabase(variant, 'ingest-pauses', async (databaseUrl, _pid, pauseLog) => {
    const { api, baseUrl } = await startApi({ MONGODB_URL: databaseUrl, MONGODB_DB: 'bench_pauses' });
    try {
      const url = `${baseUrl}/v1/webhooks/transactions`;
      await postLoad({ url, connections: 64, durationSeconds: 3 });
      for (const [load, overallRate] of LOADS) {
        const from = Date.now();
        const result = await postLoad({
          url,
          connections: 64,
          durationSeconds: 10,
          ...(overallRate ? { overallRate } : {}),
        });
        const stops = jvmPausesBetween(pauseLog, from, Date.now());
        console.log(
          JSON.stringify({
            backend,
            setting,
            load,
            requests_per_second: result.requestsPerSecond,
            p50_ms: result.p50,
            p99_ms: result.p99,
            max_ms: result.max,
            database_longest_stop_ms: stops?.longestMs,
            database_stops_total_ms: stops?.totalMs,
          }),
        );
      }
    } finally {
      await api.stop();
    }
  });
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const backend: EmbeddedBackend =
    args[0] === 'h2' || args[0] === 'memory' ? (args.shift() as EmbeddedBackend) : 'memory';
  console.log(`load average ${loadAverage()}`);
  for (const setting of args.length > 0 ? args : ['g1:200', 'g1:20']) await measure(backend, setting);
}

void main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
