/**
 * `pnpm bench [ingest] [drain] [peer] [lag] [claims] [mixed] [growth] [autoscale]` (all when none is named). Every figure is
 * measured side by side with its baseline in the same run; results go to docs/BENCHMARKS.md,
 * docs/bench/*.svg and docs/bench/results.json. Everything runs on 127.0.0.1 and stops by itself.
 */
import { execSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startEmbeddedMongo, type EmbeddedGc } from '@txhook/embedded-mongo';
import { CLAIM_MODES, DEFAULT_CLAIM_MODE, type ClaimMode } from '@txhook/transactions';
import { autoscaleRuns, type AutoscaleRun } from './autoscale';
import { barChart, lineChart } from './charts';
import { compareClaimStrategies, type ClaimResult } from './claims';
import { withDatabase, type DatabaseVariant } from './database-variant';
import { drainAgenda, drainOurs, warmDatabase, type DrainResult } from './drain';
import { GROWTH_OPERATIONS, growth, type GrowthResult } from './growth';
import { startApi, startBaseline, type AppProcess, type StackCpu } from './harness';
import { lagUnderLoad, type LagResult } from './lag';
import { postLoad, type LoadResult } from './load';
import { acknowledgedPerSecond, mixedLoad, mixedVerdict, type MixedRow } from './mixed';

const DOCS = path.resolve(__dirname, '..', '..', 'docs');
const RESULTS = path.join(DOCS, 'bench', 'results.json');

interface IngestRow {
  scenario: string;
  baseline: LoadResult;
  /**
   * Express alone (`express-floor-server.ts`): the framework's floor, measured at 64 connections
   * only (at a fixed rate every server holds the rate). Absent in runs before it was measured.
   */
  expressFloor?: LoadResult;
  ours: LoadResult;
}

interface Results {
  date: string;
  machine: Record<string, string | number>;
  database: string;
  ingest?: IngestRow[];
  drain?: DrainResult[];
  peer?: DrainResult;
  lag?: LagResult;
  claims?: ClaimResult[];
  mixed?: MixedRun[];
  growth?: GrowthResult[];
  autoscale?: AutoscaleRun[];
}

interface MixedRun {
  /** The database variant's label. */
  backend: string;
  date: string;
  /** PROCESSED history stored before each scenario (BENCH_MIXED_STORED); absent in older runs: 0. */
  storedRecords?: number;
  /** Seconds of measured load (BENCH_MIXED_SECONDS); absent in older runs: 10. */
  durationSeconds?: number;
  rows: MixedRow[];
}

async function ingest(mongoUrl: string): Promise<IngestRow[]> {
  const processes: AppProcess[] = [];
  try {
    const baseline = await startBaseline();
    const expressFloor = await startBaseline('express');
    const { api, baseUrl } = await startApi({ MONGODB_URL: mongoUrl, MONGODB_DB: 'bench_ingest' });
    processes.push(baseline.process, expressFloor.process, api);
    const targets = {
      baseline: `${baseline.baseUrl}/`,
      expressFloor: `${expressFloor.baseUrl}/`,
      ours: `${baseUrl}/v1/webhooks/transactions`,
    };
    // Warm both up (JIT, connection pools) before measuring.
    for (const url of Object.values(targets)) await postLoad({ url, connections: 64, durationSeconds: 3 });
    const scenarios: [string, { connections: number; overallRate?: number }][] = [
      ['64 connections', { connections: 64 }],
      ['500 req/s', { connections: 64, overallRate: 500 }],
      ['1,000 req/s', { connections: 64, overallRate: 1000 }],
      ['2,000 req/s', { connections: 64, overallRate: 2000 }],
    ];
    const rows: IngestRow[] = [];
    for (const [scenario, options] of scenarios) {
      console.log(`ingest: ${scenario}`);
      const baselineResult = await postLoad({ url: targets.baseline, durationSeconds: 10, ...options });
      const floorResult =
        options.overallRate === undefined
          ? await postLoad({ url: targets.expressFloor, durationSeconds: 10, ...options })
          : undefined;
      const oursResult = await postLoad({ url: targets.ours, durationSeconds: 10, ...options });
      rows.push({
        scenario,
        baseline: baselineResult,
        ...(floorResult ? { expressFloor: floorResult } : {}),
        ours: oursResult,
      });
    }
    return rows;
  } finally {
    await Promise.all(processes.map((p) => p.stop()));
  }
}

const list = (value: string | undefined, fallback: string) => (value ?? fallback).split(',').filter(Boolean);

/** Claim modes a drain compares, the worker's default first. */
const DRAIN_MODES = [DEFAULT_CLAIM_MODE, ...CLAIM_MODES.filter((mode) => mode !== DEFAULT_CLAIM_MODE)].join(
  ',',
);

/**
 * The database set-ups to compare side by side in one run: BENCH_BACKENDS (memory,h2) ×
 * BENCH_DB_GCS (e.g. serial,g1; default: the launcher's) × BENCH_DB_GC_PAUSES_MS (the collector's
 * pause goal, e.g. 200,50; default: the launcher's) × BENCH_DB_NETWORK_THREADS (e.g. 4,128; default:
 * the launcher's) × BENCH_DB_FAIR_LOCK (off,on; default: the launcher's) × BENCH_H2_CACHES_MB
 * (H2 only, e.g. 16,256) × BENCH_SECONDARY_INDEXES (on,off; default: the launcher's, on).
 */
function variants(): DatabaseVariant[] {
  let set = varyBy(baseVariants(), 'BENCH_DB_GC_PAUSES_MS', (variant, value) => {
    const gcPauseTargetMs = Number(value);
    return { ...variant, gcPauseTargetMs, label: `${variant.label}, ${gcPauseTargetMs} ms pause goal` };
  });
  set = varyBy(set, 'BENCH_DB_NETWORK_THREADS', (variant, value) => {
    const networkThreads = Number(value);
    return { ...variant, networkThreads, label: `${variant.label}, ${networkThreads} network threads` };
  });
  set = varyBy(set, 'BENCH_DB_FAIR_LOCK', (variant, value) =>
    value === 'on'
      ? { ...variant, fairCollectionLock: true, label: `${variant.label}, fair lock` }
      : { ...variant, fairCollectionLock: false, label: `${variant.label}, unfair lock` },
  );
  return varyBy(set, 'BENCH_SECONDARY_INDEXES', (variant, value) => {
    if (value !== 'on' && value !== 'off')
      throw new Error(`BENCH_SECONDARY_INDEXES: on or off, not ${value}`);
    return value === 'on'
      ? variant
      : { ...variant, secondaryIndexes: false, label: `${variant.label}, no secondary indexes` };
  });
}

/** Each variant once per value of the list variable `name`, as `vary` makes it; unset: unchanged. */
function varyBy(
  set: DatabaseVariant[],
  name: string,
  vary: (variant: DatabaseVariant, value: string) => DatabaseVariant,
): DatabaseVariant[] {
  const values = list(process.env[name], '');
  return values.length === 0 ? set : set.flatMap((variant) => values.map((value) => vary(variant, value)));
}

function baseVariants(): DatabaseVariant[] {
  const gcs = list(process.env.BENCH_DB_GCS, '') as EmbeddedGc[];
  const caches = list(process.env.BENCH_H2_CACHES_MB, '').map(Number);
  return list(process.env.BENCH_BACKENDS, 'memory,h2').flatMap((backend) => {
    if (backend !== 'memory' && backend !== 'h2')
      throw new Error(`BENCH_BACKENDS: unknown backend ${backend}`);
    const cacheChoices = backend === 'h2' && caches.length > 0 ? caches : [undefined];
    const gcChoices = gcs.length > 0 ? gcs : [undefined];
    return cacheChoices.flatMap((h2CacheMb) =>
      gcChoices.map((gc) => ({
        backend,
        ...(gc ? { gc } : {}),
        ...(h2CacheMb ? { h2CacheMb } : {}),
        label: [backend, ...(h2CacheMb ? [`${h2CacheMb} MB cache`] : []), ...(gc ? [`${gc} GC`] : [])].join(
          ', ',
        ),
      })),
    );
  });
}

async function mixedRuns(): Promise<MixedRun[]> {
  const runs: MixedRun[] = [];
  const durationSeconds = Number(process.env.BENCH_MIXED_SECONDS ?? 10);
  const workerCounts = list(process.env.BENCH_MIXED_WORKERS, '1,3').map(Number);
  const storedRecords = Number(process.env.BENCH_MIXED_STORED ?? 0);
  // The workers' CPU niceness (WORKER_NICENESS), to compare; unset: the worker's default.
  const niceness = process.env.BENCH_WORKER_NICENESS;
  for (const callSeconds of list(process.env.BENCH_MIXED_CALLS_S, '5,30').map(Number)) {
    for (const variant of variants()) {
      const rows = await withDatabase(variant, `mixed-${callSeconds}s`, (url, databasePid, pauseLog) =>
        mixedLoad(url, {
          databasePauseLog: pauseLog,
          durationSeconds,
          callMs: callSeconds * 1000,
          workerCounts,
          storedRecords,
          ...(databasePid ? { databasePid } : {}),
          ...(niceness === undefined ? {} : { env: { WORKER_NICENESS: niceness } }),
        }),
      );
      runs.push({
        backend: niceness === undefined ? variant.label : `${variant.label}, worker nice ${niceness}`,
        date: new Date().toISOString(),
        storedRecords,
        durationSeconds,
        rows,
      });
    }
  }
  return runs;
}

async function growthRuns(): Promise<GrowthResult[]> {
  const sizes = list(process.env.BENCH_GROWTH_SIZES, '0,100000,500000').map(Number);
  const reps = Number(process.env.BENCH_GROWTH_REPS ?? 10);
  const budgetMs = Number(process.env.BENCH_GROWTH_BUDGET_S ?? 30) * 1000;
  const endToEnd = process.env.BENCH_GROWTH_E2E !== '0';
  const shapes = process.env.BENCH_GROWTH_SHAPES !== '0';
  const results: GrowthResult[] = [];
  for (const variant of variants()) {
    results.push(
      await withDatabase(variant, 'growth', (url) =>
        growth(url, variant.label, sizes, { reps, budgetMs, endToEnd, shapes }),
      ),
    );
  }
  return results;
}

function machine(): Record<string, string | number> {
  return {
    load_average_at_start: os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' '),
    cpus: os.cpus().length,
    cpu_model: os.cpus()[0]?.model ?? 'unknown',
    memory_gib: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    os: `${os.type()} ${os.release()}`,
    git_commit: execSync('git rev-parse --short HEAD').toString().trim(),
  };
}

async function main(): Promise<void> {
  // `pnpm bench report` only rewrites docs/BENCHMARKS.md and the charts from results.json.
  const wanted = new Set(process.argv.slice(2));
  const reportOnly = wanted.size === 1 && wanted.has('report');
  // The apps run as built JavaScript, as in production.
  if (!reportOnly) execSync('pnpm run build', { stdio: 'inherit' });
  const run = (name: string) => !reportOnly && (wanted.size === 0 || wanted.has(name));
  const previous: Partial<Results> = existsSync(RESULTS)
    ? (JSON.parse(readFileSync(RESULTS, 'utf8')) as Results)
    : {};
  const database = await startEmbeddedMongo({ backend: 'memory' });
  const results: Results = {
    ...previous,
    date: reportOnly && previous.date ? previous.date : new Date().toISOString(),
    machine: reportOnly && previous.machine ? previous.machine : machine(),
    database: 'embedded mongo-java-server 1.47.0, memory backend',
  };
  try {
    if (run('ingest')) results.ingest = await ingest(database.url);
    if (run('claims')) {
      console.log('claims: comparing strategies');
      const records = Number(process.env.BENCH_CLAIM_RECORDS ?? 4_000);
      results.claims = [];
      for (const variant of variants()) {
        results.claims.push(
          ...(await withDatabase(variant, 'claims', (url) =>
            compareClaimStrategies(url, records, variant.label),
          )),
        );
      }
    }
    if (run('drain')) {
      // Each claim mode on each backend (BENCH_BACKENDS), with BENCH_DRAIN_WORKERS workers; the
      // default mode first, as the report's goal line reads the first row.
      results.drain = [];
      // BENCH_DRAIN_WARM=0: on the freshly started database JVM, as runs before 2026-11-27 were.
      const databaseWarm = process.env.BENCH_DRAIN_WARM !== '0';
      for (const variant of variants()) {
        for (const claimMode of list(process.env.BENCH_CLAIM_MODES, DRAIN_MODES) as ClaimMode[]) {
          for (const workers of list(process.env.BENCH_DRAIN_WORKERS, '1,3').map(Number)) {
            console.log(`drain: ${workers} worker(s), claim mode ${claimMode}, ${variant.label}`);
            results.drain.push(
              await withDatabase(variant, 'drain', async (url, databasePid) => {
                if (databaseWarm) await warmDatabase(url);
                return drainOurs(url, workers, 10_000, {
                  claimMode,
                  backend: variant.label,
                  databaseWarm,
                  ...(databasePid ? { databasePid } : {}),
                });
              }),
            );
          }
        }
      }
    }
    if (run('peer')) {
      console.log('peer: Agenda');
      results.peer = await drainAgenda(database.url, 10_000, 240_000);
    }
    if (run('lag')) {
      console.log('lag: 200 tx/s for 120 s');
      results.lag = await lagUnderLoad(database.url, 200, 120);
    }
    if (run('mixed')) {
      // Like growth: set-ups and call lengths measured in separate invocations are kept side by side.
      const fresh = await mixedRuns();
      const key = (m: MixedRun) =>
        `${m.backend}/${m.rows[0]?.callMs ?? 0}/${m.storedRecords ?? 0}/${m.durationSeconds ?? 10}`;
      const keys = new Set(fresh.map(key));
      results.mixed = [...(previous.mixed ?? []).filter((m) => !keys.has(key(m))), ...fresh];
    }
    if (run('growth')) {
      // Variants run in separate invocations (e.g. different sizes) are kept side by side.
      const fresh = await growthRuns();
      const labels = new Set(fresh.map((g) => g.backend));
      results.growth = [...(previous.growth ?? []).filter((g) => !labels.has(g.backend)), ...fresh];
    }
    if (run('autoscale')) results.autoscale = await autoscaleRuns(database.url);
  } finally {
    await database.stop();
  }
  mkdirSync(path.dirname(RESULTS), { recursive: true });
  writeFileSync(RESULTS, `${JSON.stringify(results, null, 2)}\n`);
  writeCharts(results);
  writeFileSync(path.join(DOCS, 'BENCHMARKS.md'), report(results));
  console.log('wrote docs/BENCHMARKS.md, docs/bench/results.json and charts');
}

/** A file name from a variant label: "h2, 16 MB cache (before)" → "h2-16-MB-cache-before". */
const chartName = (label: string) => label.replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, '');

function writeCharts(results: Results): void {
  const dir = path.join(DOCS, 'bench');
  if (results.ingest) {
    const categories = results.ingest.map((row) => row.scenario);
    writeFileSync(
      path.join(dir, 'ingest-latency.svg'),
      barChart('Ingest latency: ours vs bare node:http', 'ms', categories, [
        { name: 'node:http p50', values: results.ingest.map((r) => r.baseline.p50) },
        { name: 'node:http p99', values: results.ingest.map((r) => r.baseline.p99) },
        { name: 'ours p50', values: results.ingest.map((r) => r.ours.p50) },
        { name: 'ours p99', values: results.ingest.map((r) => r.ours.p99) },
      ]),
    );
  }
  for (const g of results.growth ?? []) {
    writeFileSync(
      path.join(dir, `growth-${chartName(g.backend)}.svg`),
      lineChart(
        `Median latency by stored records (${g.backend}; stats in the table)`,
        'records stored',
        'ms (median)',
        // Stats is tens of times slower than the rest: charted, it would flatten every other line.
        GROWTH_OPERATIONS.filter((op) => op !== 'stats').map((op) => ({
          name: op,
          points: g.points.map((p): [number, number] => [p.records, p.timings[op].median]),
        })),
      ),
    );
  }
  if (results.autoscale) writeAutoscaleChart(dir, results.autoscale);
  const drains = [...(results.drain ?? []), ...(results.peer ? [results.peer] : [])];
  if (drains.length > 0) {
    writeFileSync(
      path.join(dir, 'drain.svg'),
      lineChart(
        '10,000 transactions with a 30 s call: records finished over time',
        'seconds since the first POST',
        'records finished',
        drains.map((d) => ({ name: d.label, points: d.curve })),
      ),
    );
  }
}

function writeAutoscaleChart(dir: string, runs: AutoscaleRun[]): void {
  const safe = runs[0];
  if (!safe) return;
  const samples = safe.result.samples;
  writeFileSync(
    path.join(dir, 'autoscale.svg'),
    lineChart(
      `Simulated KEDA, ${safe.label}: worker processes over time`,
      'seconds since the load started',
      'workers',
      [
        { name: 'running', points: samples.map((s) => [s.seconds, s.workers]) },
        { name: 'scaled in, finishing calls', points: samples.map((s) => [s.seconds, s.stopping]) },
        { name: 'KEDA formula (bounded)', points: samples.map((s) => [s.seconds, s.desired]) },
      ],
    ),
  );
}

/**
 * What the drain's ingest cost the machine: CPU seconds per process from the first POST to the
 * last answer. The drain is the ingest plus one call, so the 33 s goal needs the ingest in 3 s;
 * on two cores that is 6 core-seconds for everything that runs meanwhile.
 */
function ingestCpuBudget(runs: DrainResult[], first: DrainResult, cores: number): string[] {
  const ours = (c: StackCpu) => c.api + c.workers + c.database;
  const coresBusy = (c: StackCpu) => ((c.machine ?? 0) / c.seconds).toFixed(2);
  const lines = [
    '**CPU during the ingest** (core-seconds from the first POST to the first 250 ms reading after the last answer; "ours" = API + workers + database, the load generator apart):',
    '',
    '| run | ingest s | API | workers | database | of which its JIT compiler | load generator | ours | whole machine | cores busy |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...runs.map((d) => {
      const c = d.ingestCpu!;
      return `| ${d.label} | ${c.seconds} | ${c.api} | ${c.workers} | ${c.database} | ${c.databaseJit ?? ''} | ${c.loadGenerator} | ${ours(c).toFixed(2)} | ${c.machine ?? ''} | ${coresBusy(c)} |`;
    }),
    '',
  ];
  const c = first.ingestCpu;
  if (c) {
    const floor = ours(c) / cores;
    lines.push(
      `First run: the ingest kept ${coresBusy(c)} of ${cores} cores busy. At the CPU it measured per webhook, ours alone (${ours(c).toFixed(2)} core-seconds for ${first.transactions.toLocaleString('en')}) cannot ingest them in less than **${floor.toFixed(1)} s** on ${cores} cores even with the load generator elsewhere, and ${((ours(c) + c.loadGenerator) / cores).toFixed(1)} s with it here; the 33 s drain needs about 3 s.`,
      '',
    );
  }
  return lines;
}

const verdict = (ok: boolean) => (ok ? '**met**' : '**missed**');

function report(r: Results): string {
  const lines: string[] = [
    '# Benchmarks',
    '',
    'Generated by `pnpm bench` (`bench/src/main.ts`); raw figures in `docs/bench/results.json`.',
    'Every figure is measured side by side with its baseline in the same run: these machines are',
    'noisy, absolute numbers move, ratios hold. Parts can be re-run alone:',
    '`pnpm bench ingest|claims|drain|peer|lag|mixed|growth|autoscale`.',
    '',
    "Knobs for `claims`, `drain`, `mixed` and `growth`: `BENCH_CLAIM_RECORDS` (4000), `BENCH_CLAIM_MODES` (drain: the default mode first, then the other), `BENCH_DRAIN_WORKERS` (1,3), `BENCH_DRAIN_WARM` (1: the database is warmed with 10,000 webhooks of their own first; 0: measured on the freshly started JVM); for all four (a quick run of `mixed` or `growth` fits in minutes): `BENCH_BACKENDS` (memory,h2), `BENCH_DB_GCS` (e.g. serial,g1,shenandoah), `BENCH_DB_GC_PAUSES_MS` (e.g. 200,50), `BENCH_DB_NETWORK_THREADS` (e.g. 4,128), `BENCH_DB_FAIR_LOCK` (off,on), `BENCH_H2_CACHES_MB` (e.g. 16,256) and `BENCH_SECONDARY_INDEXES` (on,off) to compare database set-ups side by side; `BENCH_MIXED_SECONDS` (10), `BENCH_MIXED_CALLS_S` (5,30), `BENCH_MIXED_WORKERS` (1,3), `BENCH_MIXED_STORED` (0: PROCESSED history stored before each scenario), `BENCH_WORKER_NICENESS` (unset: the default `WORKER_NICENESS`); `BENCH_GROWTH_SIZES` (0,100000,500000), `BENCH_GROWTH_REPS` (10), `BENCH_GROWTH_BUDGET_S` (30), `BENCH_GROWTH_E2E` (1). Profiles: `BENCH_JFR_DIR` (Flight Recorder of the database JVM, a sample every 1 ms), `BENCH_NODE_PROF_DIR` (`--cpu-prof` of the API and workers); `BENCH_NODE_ARGS` (node flags for the API and workers, after their own: e.g. `--max-semi-space-size=16` undoes the worker's young-generation cap for a side-by-side run).",
    '',
    `- Date: ${r.date}`,
    `- Machine: ${r.machine.cpus} × ${r.machine.cpu_model}, ${r.machine.memory_gib} GiB, ${r.machine.os}, Node.js ${r.machine.node}, commit ${r.machine.git_commit}`,
    `- Database: ${r.database} (no real mongod can run on these machines)`,
    '- Load generator: autocannon, in the benchmark process on the same 2 cores as the servers',
    '',
  ];
  if (r.ingest) {
    const c64 = r.ingest[0]!;
    const ratio = c64.ours.requestsPerSecond / c64.baseline.requestsPerSecond;
    lines.push(
      '## 1. Ingest: POST of unique transactions',
      '',
      "Baseline: a bare `node:http` server answering 202 (`bench/src/baseline-server.ts`), the ceiling of one Node.js process here. Express alone: the product's framework parsing the JSON body and answering 202, nothing else (`bench/src/express-floor-server.ts`; at 64 connections only), the floor under any Express API. Ours: the real API (validation, one durable insert, JSON logging at `info`). 10 s per row after a 3 s warm-up.",
      '',
      '| scenario | server | req/s | p50 ms | p99 ms | p99.9 ms | errors | non-2xx |',
      '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    );
    for (const row of r.ingest) {
      const servers: [string, LoadResult | undefined][] = [
        ['node:http', row.baseline],
        ['Express alone', row.expressFloor],
        ['ours', row.ours],
      ];
      for (const [name, result] of servers) {
        if (!result) continue;
        lines.push(
          `| ${row.scenario} | ${name} | ${result.requestsPerSecond} | ${result.p50} | ${result.p99} | ${result.p999} | ${result.errors + result.timeouts} | ${result.non2xx} |`,
        );
      }
    }
    const errorsAt64 = c64.ours.errors + c64.ours.timeouts + c64.ours.non2xx;
    const floor = c64.expressFloor;
    lines.push(
      '',
      `At 64 connections ours reaches **${ratio.toFixed(2)}** of the ceiling (goal ≥ 0.35: ${verdict(ratio >= 0.35)}), p99 ${c64.ours.p99} ms (goal ≤ 50 ms: ${verdict(c64.ours.p99 <= 50)}), ${errorsAt64} errors (goal 0: ${verdict(errorsAt64 === 0)}).`,
      ...(floor
        ? [
            '',
            `Express alone reaches **${(floor.requestsPerSecond / c64.baseline.requestsPerSecond).toFixed(2)}** of the same ceiling: that much is left to any Express API here before it validates, stores or logs anything. Ours reaches **${(c64.ours.requestsPerSecond / floor.requestsPerSecond).toFixed(2)}** of Express alone.`,
          ]
        : []),
      '',
      '![ingest latency](bench/ingest-latency.svg)',
      '',
    );
  }
  if (r.claims) {
    lines.push(
      '## Claim strategies (due records claimed by one client)',
      '',
      '| backend | strategy | records | seconds | claims/s | every record claimed exactly once |',
      '| --- | --- | ---: | ---: | ---: | --- |',
      ...r.claims.map(
        (c) =>
          `| ${c.backend ?? 'memory'} | ${c.strategy} | ${c.records} | ${c.seconds} | ${c.claimsPerSecond} | ${c.claimedExactlyOnce ? 'yes' : 'NO'} |`,
      ),
      '',
      `The worker claims through \`LeaseQueue.claim\` in \`CLAIM_MODE\` (default \`${DEFAULT_CLAIM_MODE}\`), up to \`CLAIM_BATCH_SIZE\` records per round; why that default: "Claim mode" in the analysis below.`,
      '',
    );
  }
  if (r.drain) {
    lines.push(
      '## 2. Drain: 10,000 transactions, real 30 s call',
      '',
      'From the first POST (autocannon, 64 connections, 10,000 requests) to the last `processed_at`; ingest s: from the first POST to the last answer. Claims/s over the span in which calls started; peak in-flight = most calls running at once; RSS sampled every 250 ms.',
      '',
      '| run | finished | ingest s | total s | claims/s | peak in-flight | peak worker RSS MB | worker CPU s | note |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
      ...[...r.drain, ...(r.peer ? [r.peer] : [])].map(
        (d) =>
          `| ${d.label} | ${d.finished} | ${d.ingestSeconds} | ${d.totalSeconds} | ${d.claimsPerSecond} | ${d.peakInFlight} | ${d.peakWorkerRssMb} | ${d.workerCpuSeconds ?? ''} | ${d.note ?? ''} |`,
      ),
      '',
    );
    const one = r.drain[0]!;
    lines.push(
      `One worker: ${one.totalSeconds} s total (goal ≤ 33 s: ${verdict(one.totalSeconds <= 33 && one.finished === one.transactions)}), peak RSS ${one.peakWorkerRssMb} MB (goal ≤ 150 MB: ${verdict(one.peakWorkerRssMb <= 150)}).`,
      '',
    );
    const withCpu = r.drain.filter((d) => d.ingestCpu);
    if (withCpu.length > 0) lines.push(...ingestCpuBudget(withCpu, one, Number(r.machine.cpus)));
  }
  if (r.peer && r.drain) {
    const ours = r.drain[0]!;
    const agendaComplete = r.peer.finished === r.peer.transactions;
    const ratio = r.peer.totalSeconds / ours.totalSeconds;
    lines.push(
      '## 3. Peer: Agenda on the same database',
      '',
      'Agenda 6.2.6 with `@agendajs/mongo-backend`, one job per transaction, the same 30 s wait, `maxConcurrency`/`defaultConcurrency` 20,000, lock limits off, `processEvery` 100 ms, on the same server in the same run (Agenda runs inside the benchmark process, so its RSS column includes the load generator).',
      '',
      `${
        agendaComplete
          ? `Agenda drained in ${r.peer.totalSeconds} s, ours (1 worker) in ${ours.totalSeconds} s: **${ratio.toFixed(1)}×** on this server`
          : `Agenda had finished ${r.peer.finished} of ${r.peer.transactions} when stopped at ${r.peer.totalSeconds} s; ours (1 worker) finished all in ${ours.totalSeconds} s: at least ${ratio.toFixed(1)}× on this server`
      } (goal ≥ 5×: **not claimed**). On the embedded server most of Agenda's time goes to its lock query, which walks every job already locked (real MongoDB would reject those on the index keys; not measured here), so its time here varies from run to run and says more about the stand-in than about Agenda; see "Agenda on the stand-in: where the time goes" in the analysis below, with the ratio against Agenda on the library's scans.`,
      '',
      '![drain curves](bench/drain.svg)',
      '',
    );
  }
  if (r.lag) {
    lines.push(
      '## 4. Lag under steady load',
      '',
      `${r.lag.ratePerSecond} tx/s for ${r.lag.durationSeconds} s (${r.lag.transactions} transactions), one worker: processed_at − created_at p50 **${r.lag.p50Seconds} s**, p99 **${r.lag.p99Seconds} s**, max ${r.lag.maxSeconds} s (goal p99 ≤ 31 s: ${verdict(r.lag.p99Seconds <= 31)}); POST p99 ${r.lag.ingestP99Ms} ms; ${r.lag.failedPosts} failed or unprocessed.`,
      '',
    );
  }
  if (r.mixed) lines.push(...mixedReport(r.mixed));
  if (r.growth) lines.push(...growthReport(r.growth));
  if (r.autoscale) lines.push(...autoscaleReport(r.autoscale));
  const analysis = path.resolve(__dirname, '..', 'analysis.md');
  if (existsSync(analysis)) lines.push(readFileSync(analysis, 'utf8'));
  return `${lines.join('\n')}\n`;
}

function mixedReport(runs: MixedRun[]): string[] {
  const lines = [
    '## 5. Mixed load: ingest while workers drain',
    '',
    '`pnpm bench mixed`: 64 autocannon connections POST unique webhooks for the stated time (after a 2 s warm-up) to the API alone, then to the API with one and with three worker processes draining what is posted (external call of the stated length), each on a fresh database of the same server, one after another. Goal (issue 10): 0 responses over 500 ms, p99 ≤ 2× the API-alone p99, throughput ≥ 0.8 of API alone. "> 500 ms" is what autocannon measured (the goal is judged on it); "API > 500 ms" is the API\'s own ack-time histogram (`txhook_webhook_ack_duration_seconds`, from the request reaching its routes to the answer sent) over the same load: where it is lower, the rest of the time passed before the API\'s routes started on the request (waiting in its socket while the API worked through others: a cold API\'s first burst, see the analysis) or in the load generator, which shares the two cores.',
    '',
    '| backend | stored | call | load s | run | req/s | ratio | p50 ms | p99 ms | p99 ratio | max ms | > 500 ms | API > 500 ms | errors | goal |',
    '| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const run of runs) {
    const alone = run.rows.find((row) => row.workers === 0)!;
    for (const row of run.rows) {
      const v = mixedVerdict(row, alone);
      lines.push(
        `| ${run.backend} | ${(run.storedRecords ?? 0).toLocaleString('en')} | ${row.callMs / 1000} s | ${run.durationSeconds ?? 10} | ${row.scenario} | ${row.load.requestsPerSecond} | ${v.throughput.toFixed(2)} | ${row.load.p50} | ${row.load.p99} | ${v.p99Ratio.toFixed(1)} | ${row.load.max} | ${v.slow} | ${row.apiOver500ms ?? '–'} | ${row.load.errors + row.load.non2xx} | ${row.workers === 0 ? 'baseline' : verdict(v.met)} |`,
      );
    }
  }
  lines.push(
    '',
    `Runs: ${runs.map((run) => `${run.backend} at ${run.date}`).join('; ')}. Variants without a GC name use the launcher's default.`,
    '',
    ...mixedCpuReport(runs),
  );
  return lines;
}

/** The database JVM's stops in a row's measured load ("–" for runs from before they were read). */
function stops(row: MixedRow): string {
  const pauses = row.databasePauses;
  if (!pauses) return '–';
  const cause = pauses.longestCause ? ` ${pauses.longestCause}` : '';
  return `${pauses.longestMs}${cause} / ${pauses.totalMs} (${pauses.over100ms})`;
}

/** Where the 2 cores went in each measured load (rows recorded before CPU was measured are left out). */
function mixedCpuReport(runs: MixedRun[]): string[] {
  const measured = runs.flatMap((run) => run.rows.map((row) => ({ run, row }))).filter(({ row }) => row.cpu);
  if (measured.length === 0) return [];
  const lines = [
    "CPU seconds per process during the measured load (from `/proc/<pid>/stat`; whole machine: the busy time of every core from `/proc/stat`, other engineers' work included (per-process and machine figures are sampled differently: a few % apart); the load generator is the bench process: autocannon and reading the API’s and workers’ log lines), and per 1,000 acknowledged webhooks. `PROCESSED` counts the records finished when the load stopped. Database stops: the database JVM's safepoints and allocation stalls that ended during the load (from its `-Xlog:safepoint` log; a stop-the-world GC pause is a safepoint), the longest, their sum, and how many lasted 100 ms or more.",
    '',
    '| backend | stored | call | run | seconds | load generator | API | workers | database | ours (cores) | whole machine (cores) | API per 1k | workers per 1k | database per 1k | PROCESSED | database stops: longest / total ms (≥ 100 ms) |',
    '| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const { run, row } of measured) {
    const cpu = row.cpu!;
    const total = cpu.loadGenerator + cpu.api + cpu.workers + cpu.database;
    const acked = (acknowledgedPerSecond(row.load) * cpu.seconds) / 1000;
    const per1k = (seconds: number) => (acked > 0 ? (seconds / acked).toFixed(2) : '–');
    lines.push(
      `| ${run.backend} | ${(run.storedRecords ?? 0).toLocaleString('en')} | ${row.callMs / 1000} s | ${row.scenario} | ${cpu.seconds.toFixed(1)} | ${cpu.loadGenerator.toFixed(2)} | ${cpu.api.toFixed(2)} | ${cpu.workers.toFixed(2)} | ${cpu.database.toFixed(2)} | ${total.toFixed(2)} (${(total / cpu.seconds).toFixed(2)}) | ${cpu.machine === undefined ? '–' : `${cpu.machine.toFixed(2)} (${(cpu.machine / cpu.seconds).toFixed(2)})`} | ${per1k(cpu.api)} | ${per1k(cpu.workers)} | ${per1k(cpu.database)} | ${row.processed ?? '–'} | ${stops(row)} |`,
    );
  }
  lines.push('');
  return lines;
}

function growthReport(results: GrowthResult[]): string[] {
  const lines = [
    '## 6. Growth: cost of each operation as history accumulates',
    '',
    "`pnpm bench growth`: PROCESSED history is inserted up to each size, then each operation is timed through the driver with the service's repository code and its indexes (median and max of `BENCH_GROWTH_REPS` calls, default 10, at most `BENCH_GROWTH_BUDGET_S` per operation, default 30 s; a run's settings are in the analysis below). Claim poll = an idle `LeaseQueue.claim` in the default `CLAIM_MODE` (nothing due); heartbeat = `LeaseQueue.renew` of one token; list = newest 50; stats = `GET /v1/stats`'s queries. Goal (issue 10): at 500,000 records an idle claim poll and a heartbeat ≤ 100 ms on H2.",
    '',
    `| backend | records | ${GROWTH_OPERATIONS.join(' | ')} |`,
    `| --- | ---: | ${GROWTH_OPERATIONS.map(() => '---:').join(' | ')} |`,
  ];
  for (const g of results) {
    for (const p of g.points) {
      const cell = (op: (typeof GROWTH_OPERATIONS)[number]) => {
        const t = p.timings[op];
        return `${t.median} / ${t.max}${t.errors ? ` (${t.errors} err)` : ''}`;
      };
      lines.push(
        `| ${g.backend} | ${p.records.toLocaleString('en')} | ${GROWTH_OPERATIONS.map(cell).join(' | ')} |`,
      );
    }
  }
  lines.push('', 'Cells: median / max ms.', '');
  for (const g of results) {
    const largest = g.points[g.points.length - 1];
    if (g.backend.startsWith('h2') && largest) {
      const claim = largest.timings['claim poll'].median;
      const beat = largest.timings.heartbeat.median;
      lines.push(
        `H2 at ${largest.records.toLocaleString('en')} records: claim poll ${claim} ms, heartbeat ${beat} ms (goal ≤ 100 ms each at 500,000: ${largest.records >= 500_000 ? verdict(claim <= 100 && beat <= 100) : 'not measured at 500,000 in this run'}).`,
        '',
      );
    }
    lines.push(`![growth ${g.backend}](bench/growth-${chartName(g.backend)}.svg)`, '');
    const e = g.endToEnd;
    if (e) {
      lines.push(
        `End to end on ${g.backend} at ${e.records.toLocaleString('en')} stored records (API + one worker, ${e.callMs / 1000} s call, 60 webhooks at 10/s): ${e.accepted} of ${e.posted} accepted, ${e.refused503} × 503, ack p99 ${e.ackP99Ms} ms (max ${e.ackMaxMs} ms), ${e.processedWithinCallPlus2s} of ${e.accepted} PROCESSED within call + 2 s (longest ${e.lagMaxSeconds ?? 'n/a'} s). Goal: no 503, ack p99 ≤ 100 ms, all within call + 2 s: ${verdict(e.refused503 === 0 && e.ackP99Ms <= 100 && e.processedWithinCallPlus2s === e.posted)}.`,
        '',
      );
    }
  }
  return lines;
}

function autoscaleReport(runs: AutoscaleRun[]): string[] {
  const first = runs[0]!;
  const p = first.profile;
  const phases = p.phases
    .map((phase) =>
      phase.fromRate === phase.toRate
        ? `${phase.toRate}/s for ${phase.seconds} s`
        : `${phase.fromRate}→${phase.toRate}/s over ${phase.seconds} s`,
    )
    .join(', ');
  const safe = runs[0]!.result;
  return [
    '## 7. Scale-in safety: simulated KEDA on real worker processes',
    '',
    `\`pnpm bench autoscale\` (\`bench/src/autoscale.ts\`, \`packages/test-kit/src/autoscaler.ts\`). Every ${p.tickMs / 1000} s the scaler counts \`{"status":"PROCESSING"}\` (the KEDA \`mongodb\` trigger's query) and applies \`ceil(count / ${p.queryValue})\` (queryValue = WORKER_CONCURRENCY ${first.concurrency}), bounded to ${p.minReplicas}–${p.maxReplicas} replicas; it scales up at once and down only to the largest recommendation of the last ${p.cooldownMs / 1000} s (KEDA/HPA default to 300 s). Scale-in SIGTERMs the youngest workers. Load: ${phases}, then 0. Calls take ${first.callMs / 1000} s. Repeated calls are counted from the workers' logs (every external call start is a debug line, \`external call started\`), so calls beyond the first per transaction are repeats; the records' own \`calls\` counters are checked to agree.`,
    '',
    '| run | accepted | lost | processed twice | calls repeated | of which after scale-in | still running at grace end | finished within grace | workers started | scale-ins | max workers | lag p50 s | lag p99 s | run s |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...runs.map(
      ({ label, result: a }) =>
        `| ${label} | ${a.accepted} | ${a.lost} | ${a.processedTwice} | ${a.callsRepeated} | ${a.callsRepeatedByScaleIn} | ${a.releasedAtScaleIn} | ${a.finishedDuringScaleIn} | ${a.workersStarted} | ${a.scaleIns} | ${a.maxWorkers} | ${a.lagSeconds.p50} | ${a.lagSeconds.p99} | ${a.runSeconds} |`,
    ),
    '',
    `With SHUTDOWN_GRACE_MS above a whole call, scale-in repeated **${safe.callsRepeated}** calls (goal 0: ${verdict(safe.callsRepeated === 0 && safe.lost === 0 && safe.processedTwice === 0)}): a scaled-in worker stops claiming at once and finishes what it runs. The control run, with a grace shorter than a call, shows what the count catches when the grace is too short: calls still running when the grace ends are aborted and released, and run again elsewhere (a few of them had already returned and were recorded by the same worker, hence fewer repeats than releases). Columns: *still running at grace end* / *finished within grace* are the scaled-in workers' in-flight calls at SIGTERM, from their \`worker stopped\` log line.`,
    '',
    '![workers over time](bench/autoscale.svg)',
    '',
  ];
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
