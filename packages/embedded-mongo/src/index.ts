import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';

/** Storage of mongo-java-server: `memory` (serialised per collection) or `h2` (MVStore file). */
export type EmbeddedBackend = 'memory' | 'h2';

/** Garbage collector of the database JVM (see docs/BENCHMARKS.md for the measurements). */
export type EmbeddedGc = 'serial' | 'parallel' | 'g1' | 'zgc' | 'shenandoah';
export const EMBEDDED_GCS: readonly EmbeddedGc[] = ['serial', 'parallel', 'g1', 'zgc', 'shenandoah'];

/** Defaults of the launcher's memory settings; each can be overridden per start. */
export const EMBEDDED_DEFAULTS = {
  gc: 'g1' as EmbeddedGc,
  /** H2's page cache; H2's own default (16 MB) thrashes past ~100,000 records. */
  h2CacheMb: 256,
  /**
   * Most heap the JVM may use; unset leaves the JVM's own choice (a quarter of the RAM): the
   * memory backend keeps every stored record in the heap, so a fixed cap would fail as history grows.
   */
  heap: undefined as string | undefined,
  /**
   * Threads that serve the connections. Each runs the commands of its connections one after
   * another, so a connection sharing a thread with a worker's bulk write waits for all of it;
   * netty's own 2 per core put ~30 connections on each (see docs/BENCHMARKS.md).
   */
  networkThreads: 128 as number,
  /**
   * Serve each collection's operations in arrival order: the library's lock is a plain monitor,
   * and under contention an insert could be passed over by the workers' updates again and again.
   */
  fairCollectionLock: true,
  /**
   * G1's pause goal (`-XX:MaxGCPauseMillis`; the JVM's own is 200 ms). With its own goal, G1's young
   * pauses reached 80-130 ms under 1,000 webhooks/s and every write waiting on them set the
   * acknowledgements' p99; 20 ms halved the pauses for ~4 % more database CPU (docs/BENCHMARKS.md).
   * Other collectors keep the JVM's own unless `gcPauseTargetMs` asks for one.
   */
  g1PauseTargetMs: 20,
  /**
   * Serve non-unique indexes from the launcher's sorted in-memory index; false gives back the
   * library's own behaviour (they are ignored and every such query scans the collection).
   */
  secondaryIndexes: true,
};

const GC_FLAGS: Record<EmbeddedGc, string> = {
  serial: '-XX:+UseSerialGC',
  parallel: '-XX:+UseParallelGC',
  g1: '-XX:+UseG1GC',
  // JDK 17's concurrent collectors: pauses of about a millisecond, at more CPU; on 2 shared cores
  // ZGC stalled allocations for seconds (docs/BENCHMARKS.md), so neither is the default.
  zgc: '-XX:+UseZGC',
  shenandoah: '-XX:+UseShenandoahGC',
};

const HEAP = /^\d+[mMgG]$/;

export interface EmbeddedMongoOptions {
  /** 0 picks a free port. */
  port?: number;
  backend?: EmbeddedBackend;
  /** H2 only: file that keeps the data across restarts; in-memory H2 when unset. */
  h2File?: string;
  /** How long to wait for the JVM to start listening. */
  startTimeoutMs?: number;
  /**
   * Tests only: accept MongoDB's `configureFailPoint: 'failCommand'` test command, so the server
   * can be told to fail, delay or not answer chosen commands (see fault-injection.ts). Off by default.
   */
  faultInjection?: boolean;
  /** H2 only: page cache in MB (default EMBEDDED_DEFAULTS.h2CacheMb). */
  h2CacheMb?: number;
  /** JVM maximum heap, e.g. `512m` or `2g` (default EMBEDDED_DEFAULTS.heap). */
  heap?: string;
  gc?: EmbeddedGc;
  /** Pause goal of G1 or parallel in ms, 1–1000 (default: EMBEDDED_DEFAULTS.g1PauseTargetMs with G1, else the JVM's). */
  gcPauseTargetMs?: number;
  /** Non-unique indexes served (default EMBEDDED_DEFAULTS.secondaryIndexes); false: scans, as the library does. */
  secondaryIndexes?: boolean;
  /** A first-come-first-served lock before each collection's own (default EMBEDDED_DEFAULTS.fairCollectionLock). */
  fairCollectionLock?: boolean;
  /** Threads that serve connections, 1–1024 (default EMBEDDED_DEFAULTS.networkThreads). */
  networkThreads?: number;
  /** Extra JVM flags (profiling: `-XX:StartFlightRecording=...`, GC logs). */
  jvmArgs?: readonly string[];
}

export interface EmbeddedMongo {
  url: string;
  backend: EmbeddedBackend;
  process: ChildProcess;
  stop(): Promise<void>;
}

const PACKAGE_ROOT = path.resolve(__dirname, '..');
export const JARS_DIR = path.join(PACKAGE_ROOT, '.cache', 'jars');
const LAUNCHER = path.join(PACKAGE_ROOT, 'java', 'EmbeddedMongo.java');
const URL_LINE = /^EMBEDDED_MONGO_URL=(mongodb:\/\/\S+)$/;

/**
 * Starts mongo-java-server 1.47.0 in a child JVM and resolves once it listens. The JVM exits
 * when this process closes its stdin, so it never outlives its parent.
 */
export async function startEmbeddedMongo(options: EmbeddedMongoOptions = {}): Promise<EmbeddedMongo> {
  const backend = options.backend ?? 'memory';
  if (!existsSync(JARS_DIR)) {
    throw new Error(`embedded MongoDB jars missing in ${JARS_DIR}: run "pnpm db:jars" first`);
  }
  const gc = options.gc ?? EMBEDDED_DEFAULTS.gc;
  const heap = options.heap ?? EMBEDDED_DEFAULTS.heap;
  const h2CacheMb = options.h2CacheMb ?? EMBEDDED_DEFAULTS.h2CacheMb;
  const gcPauseTargetMs =
    options.gcPauseTargetMs ?? (gc === 'g1' ? EMBEDDED_DEFAULTS.g1PauseTargetMs : undefined);
  const networkThreads = options.networkThreads ?? EMBEDDED_DEFAULTS.networkThreads;
  if (!EMBEDDED_GCS.includes(gc))
    throw new Error(`embedded MongoDB: gc must be one of ${EMBEDDED_GCS.join(', ')}`);
  if (heap !== undefined && !HEAP.test(heap)) {
    throw new Error('embedded MongoDB: heap must look like 512m or 2g');
  }
  if (!Number.isInteger(h2CacheMb) || h2CacheMb < 1) {
    throw new Error('embedded MongoDB: the H2 cache must be a whole number of MB');
  }
  if (
    gcPauseTargetMs !== undefined &&
    !(Number.isInteger(gcPauseTargetMs) && gcPauseTargetMs >= 1 && gcPauseTargetMs <= 1000)
  ) {
    throw new Error('embedded MongoDB: the GC pause target must be a whole number of ms, 1-1000');
  }
  if (!(Number.isInteger(networkThreads) && networkThreads >= 1 && networkThreads <= 1024)) {
    throw new Error('embedded MongoDB: network threads must be a whole number, 1-1024');
  }
  const args = [
    GC_FLAGS[gc],
    ...(heap ? [`-Xmx${heap}`] : []),
    ...(gcPauseTargetMs === undefined ? [] : [`-XX:MaxGCPauseMillis=${gcPauseTargetMs}`]),
    ...(options.jvmArgs ?? []),
    '-cp',
    `${JARS_DIR}${path.sep}*`,
    LAUNCHER,
    '--port',
    String(options.port ?? 0),
    '--backend',
    backend,
    '--exit-on-stdin-eof',
  ];
  if (options.h2File) args.push('--h2-file', options.h2File);
  if (options.faultInjection) args.push('--enable-fault-injection');
  if (!(options.secondaryIndexes ?? EMBEDDED_DEFAULTS.secondaryIndexes)) args.push('--no-secondary-indexes');
  if (backend === 'h2') args.push('--h2-cache-mb', String(h2CacheMb));
  args.push('--network-threads', String(networkThreads));
  if (options.fairCollectionLock ?? EMBEDDED_DEFAULTS.fairCollectionLock) args.push('--fair-collection-lock');

  // Own process group: a terminal's Ctrl-C must not kill the database before the apps have
  // released their leases. It still exits with us, when our end of its stdin closes.
  const child = spawn('java', args, { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  const stderr: string[] = [];
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`embedded MongoDB did not start in time: ${stderr.join('')}`));
    }, options.startTimeoutMs ?? 60_000);
    const lines = readline.createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      const match = URL_LINE.exec(line);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`could not run java for the embedded MongoDB: ${error.message}`));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`embedded MongoDB exited early (${code ?? signal}): ${stderr.join('')}`));
    });
  });

  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  return {
    url,
    backend,
    process: child,
    async stop() {
      child.stdin.end();
      const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(killer);
    },
  };
}
export * from './fault-injection';

/**
 * The launcher's tuning from the environment (EMBEDDED_MONGO_GC, EMBEDDED_MONGO_GC_PAUSE_MS,
 * EMBEDDED_MONGO_NETWORK_THREADS, EMBEDDED_MONGO_HEAP,
 * EMBEDDED_MONGO_H2_CACHE_MB, EMBEDDED_MONGO_SECONDARY_INDEXES=false), for `pnpm db` and
 * `pnpm start`; unset keeps the defaults.
 */
export function tuningFromEnv(
  env: NodeJS.ProcessEnv,
): Pick<
  EmbeddedMongoOptions,
  'gc' | 'gcPauseTargetMs' | 'heap' | 'h2CacheMb' | 'networkThreads' | 'secondaryIndexes'
> {
  const secondaryIndexes = env.EMBEDDED_MONGO_SECONDARY_INDEXES;
  if (secondaryIndexes !== undefined && secondaryIndexes !== 'true' && secondaryIndexes !== 'false') {
    throw new Error('EMBEDDED_MONGO_SECONDARY_INDEXES must be true or false');
  }
  return {
    ...(secondaryIndexes ? { secondaryIndexes: secondaryIndexes === 'true' } : {}),
    ...(env.EMBEDDED_MONGO_GC ? { gc: env.EMBEDDED_MONGO_GC as EmbeddedGc } : {}),
    ...(env.EMBEDDED_MONGO_HEAP ? { heap: env.EMBEDDED_MONGO_HEAP } : {}),
    ...(env.EMBEDDED_MONGO_GC_PAUSE_MS ? { gcPauseTargetMs: Number(env.EMBEDDED_MONGO_GC_PAUSE_MS) } : {}),
    ...(env.EMBEDDED_MONGO_NETWORK_THREADS
      ? { networkThreads: Number(env.EMBEDDED_MONGO_NETWORK_THREADS) }
      : {}),
    ...(env.EMBEDDED_MONGO_H2_CACHE_MB ? { h2CacheMb: Number(env.EMBEDDED_MONGO_H2_CACHE_MB) } : {}),
  };
}
