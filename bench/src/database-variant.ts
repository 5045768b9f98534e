/** A database server per variant for the benchmarks that compare set-ups side by side. */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startEmbeddedMongo, type EmbeddedBackend, type EmbeddedGc } from '@txhook/embedded-mongo';
import { jvmPauseLogArgs } from './jvm-pauses';

export interface DatabaseVariant {
  backend: EmbeddedBackend;
  gc?: EmbeddedGc;
  /** The collector's pause goal (ms); unset: the launcher's. */
  gcPauseTargetMs?: number;
  /** The server's network threads; unset: the launcher's. */
  networkThreads?: number;
  fairCollectionLock?: boolean;
  h2CacheMb?: number;
  /** false: the library's scans instead of the launcher's secondary indexes. */
  secondaryIndexes?: boolean;
  /** e.g. "h2", "h2, 16 MB cache, serial GC", "memory, no secondary indexes" */
  label: string;
}

/**
 * A database server of the variant (H2 with a data file, as `npm start` runs it; launcher defaults
 * for what the variant leaves open), logging its safepoints for `task` (jvmPausesBetween);
 * BENCH_JFR_DIR records a Flight Recorder profile there.
 */
export async function withDatabase<T>(
  variant: DatabaseVariant,
  name: string,
  task: (url: string, databasePid: number | undefined, pauseLog: string) => Promise<T>,
) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'txhook-bench-'));
  const jfrDir = process.env.BENCH_JFR_DIR;
  const file = `${name}-${variant.label.replace(/[^a-z0-9]+/gi, '-')}.jfr`;
  const pauseLog = path.join(dir, 'jvm-pauses.log');
  const database = await startEmbeddedMongo({
    backend: variant.backend,
    ...(variant.backend === 'h2' ? { h2File: path.join(dir, 'bench.mv') } : {}),
    ...(variant.gc ? { gc: variant.gc } : {}),
    ...(variant.gcPauseTargetMs ? { gcPauseTargetMs: variant.gcPauseTargetMs } : {}),
    ...(variant.networkThreads ? { networkThreads: variant.networkThreads } : {}),
    ...(variant.fairCollectionLock === undefined ? {} : { fairCollectionLock: variant.fairCollectionLock }),
    ...(variant.h2CacheMb ? { h2CacheMb: variant.h2CacheMb } : {}),
    ...(variant.secondaryIndexes === false ? { secondaryIndexes: false } : {}),
    jvmArgs: [
      ...jvmPauseLogArgs(pauseLog),
      ...(jfrDir
        ? [
            // method-profiling=max: a Java sample every 1 ms; at the profile settings' 10 ms a 10 s
            // run gave a few hundred samples, too few to split the database's time.
            `-XX:StartFlightRecording=filename=${path.join(path.resolve(jfrDir), file)},settings=profile,method-profiling=max,dumponexit=true`,
          ]
        : []),
    ],
  });
  try {
    return await task(database.url, database.process.pid, pauseLog);
  } finally {
    await database.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
