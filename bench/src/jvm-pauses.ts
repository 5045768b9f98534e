/**
 * The database JVM's stops, read from its unified log: every safepoint (where a stop-the-world
 * collector's pauses happen, whatever the collector) and ZGC's allocation stalls (a thread waiting
 * for memory, not a safepoint). A stop of the database is a stop of every write the API waits on.
 */
import { existsSync, readFileSync } from 'node:fs';

export interface JvmPause {
  /** Wall-clock time the log line was written (the stop's end), ms since the epoch. */
  endEpochMs: number;
  ms: number;
  /** The safepoint's operation (e.g. "G1CollectForAllocation") or "Allocation Stall". */
  cause: string;
}

/** JVM flags that write the log `jvmPausesBetween` reads. */
export function jvmPauseLogArgs(file: string): string[] {
  return [`-Xlog:safepoint=info,gc=info:file=${file}:timemillis`];
}

const SAFEPOINT = /^\[(\d+)ms\] Safepoint "([^"]+)".*, Total: (\d+) ns/;
const ALLOCATION_STALL = /^\[(\d+)ms\] Allocation Stall \([^)]*\) ([\d.]+)ms/;

export function parseJvmPauses(log: string): JvmPause[] {
  const pauses: JvmPause[] = [];
  for (const line of log.split('\n')) {
    const safepoint = SAFEPOINT.exec(line);
    if (safepoint) {
      pauses.push({
        endEpochMs: Number(safepoint[1]),
        ms: Number(safepoint[3]) / 1e6,
        cause: safepoint[2]!,
      });
      continue;
    }
    const stall = ALLOCATION_STALL.exec(line);
    if (stall) pauses.push({ endEpochMs: Number(stall[1]), ms: Number(stall[2]), cause: 'Allocation Stall' });
  }
  return pauses;
}

export interface PauseSummary {
  /** How many stops ended in the window. */
  count: number;
  /** The longest stop that ended in the window, ms. */
  longestMs: number;
  /** What the longest stop was (its safepoint's operation); absent when there was none. */
  longestCause?: string;
  /** All stops in the window added up, ms. */
  totalMs: number;
  /** Stops of 100 ms or more: each delays every answer waiting on the database by that much. */
  over100ms: number;
}

/** The stops that ended between `fromMs` and `toMs` (epoch ms); undefined when the log is missing. */
export function jvmPausesBetween(file: string, fromMs: number, toMs: number): PauseSummary | undefined {
  if (!existsSync(file)) return undefined;
  const pauses = parseJvmPauses(readFileSync(file, 'utf8')).filter(
    (pause) => pause.endEpochMs >= fromMs && pause.endEpochMs <= toMs,
  );
  const longest = pauses.reduce<JvmPause | undefined>(
    (found, pause) => (found && found.ms >= pause.ms ? found : pause),
    undefined,
  );
  return {
    count: pauses.length,
    longestMs: Math.round(longest?.ms ?? 0),
    ...(longest ? { longestCause: longest.cause } : {}),
    totalMs: Math.round(pauses.reduce((sum, pause) => sum + pause.ms, 0)),
    over100ms: pauses.filter((pause) => pause.ms >= 100).length,
  };
}
