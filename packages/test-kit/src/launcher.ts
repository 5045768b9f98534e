/**
 * The one process launcher: tests, benchmarks, `npm start` (scripts/start-all.ts) and the fuzz
 * script start the API, workers and helper servers through it. TypeScript entries run from source
 * through scripts/ts.sh (the one place the ts-node command is written); JavaScript entries (the
 * built apps) run with this same node.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';

/** The repository: entries, scripts/ts.sh and the processes' working directory. */
export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');

/**
 * The apps' entries, and the node flags every launch of them carries: here, in `pnpm start`, and
 * in the deploy files (tests/deploy checks that those agree).
 *
 * The worker holds one job per call in flight for the whole call (30 s), thousands at once. On a
 * machine with no memory limit V8 then grows the young generation to its largest (2 × 16 MB
 * semi-spaces), which measured ~30 MB of the worker's RSS in the drain benchmark (bench/analysis.md);
 * capped at 4 MB the peak RSS fell below the 150 MB goal at no measurable drain cost. In a container
 * with a small memory limit, Node would size it smaller still by itself; the flag makes every
 * launch alike.
 */
export const APP_ENTRIES = {
  api: { source: 'apps/api/src/main.ts', compiled: 'apps/api/dist/main.js', nodeFlags: [] },
  worker: {
    source: 'apps/worker/src/main.ts',
    compiled: 'apps/worker/dist/main.js',
    nodeFlags: ['--max-semi-space-size=4'],
  },
} as const;

export type AppKind = keyof typeof APP_ENTRIES;

/** One JSON log line of an app (LOG_FORMAT=json). */
export type LogLine = Record<string, unknown> & { message?: string };

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

interface OutputOptions {
  /** Called with every output line (stdout and stderr) as it comes, e.g. to show it prefixed. */
  onLine?: (line: string) => void;
  /**
   * Keep every line for waitForLog/logsWith (default true). A long-running `npm start` turns it
   * off so its memory does not grow with its logs.
   */
  keepOutput?: boolean;
}

/** A process started for real, with its output lines (and the JSON log lines among them) collected. */
export class AppProcess {
  readonly logs: LogLine[] = [];
  readonly rawOutput: string[] = [];
  readonly exited: Promise<ExitStatus>;
  private readonly waiters = new Set<() => void>();

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
    { onLine, keepOutput = true }: OutputOptions = {},
  ) {
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue;
      readline.createInterface({ input: stream }).on('line', (line) => {
        onLine?.(line);
        if (!keepOutput) return;
        this.rawOutput.push(line);
        try {
          this.logs.push(JSON.parse(line) as LogLine);
        } catch {
          // not a log line (e.g. a crash message); kept in rawOutput
        }
        for (const wake of this.waiters) wake();
      });
    }
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        for (const wake of this.waiters) wake();
        resolve({ code, signal });
      });
    });
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  logsWith(message: string): LogLine[] {
    return this.logs.filter((line) => line.message === message);
  }

  /** Resolves with the first log line matching `predicate`, already seen or yet to come. */
  waitForLog(predicate: (line: LogLine) => boolean, timeoutMs = 30_000): Promise<LogLine> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.logs.find(predicate);
        if (found) {
          done();
          resolve(found);
        } else if (!this.running) {
          done();
          reject(new Error(`${this.name} exited before the log line came:\n${this.rawOutput.join('\n')}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(
          new Error(`${this.name}: log line not seen in ${timeoutMs} ms:\n${this.rawOutput.join('\n')}`),
        );
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  kill(signal: NodeJS.Signals): void {
    if (this.running) this.child.kill(signal);
  }

  /** SIGTERM, then SIGKILL if it has not exited after `timeoutMs`. */
  async stop(timeoutMs = 20_000): Promise<ExitStatus> {
    this.kill('SIGTERM');
    const timer = setTimeout(() => this.kill('SIGKILL'), timeoutMs);
    const result = await this.exited;
    clearTimeout(timer);
    return result;
  }
}

export interface LaunchOptions extends OutputOptions {
  /** Shown in errors. */
  name: string;
  /** A .ts file (run from source) or a .js file, relative to the repository or absolute. */
  entry: string;
  /** The process's whole environment: nothing is inherited unless passed. */
  env: NodeJS.ProcessEnv;
  /** Extra node flags (benchmarks: `--cpu-prof`, which NODE_OPTIONS does not allow). */
  nodeArgs?: readonly string[];
  /** A process group of its own, as a shell job has (signal it with `process.kill(-pid)`). */
  detached?: boolean;
}

export function launch(options: LaunchOptions): AppProcess {
  const entry = path.resolve(REPO_ROOT, options.entry);
  const nodeArgs = options.nodeArgs ?? [];
  // scripts/ts.sh execs node, so the child's pid is node's and signals reach it directly.
  const [command, args] = entry.endsWith('.ts')
    ? ['bash', [path.join(REPO_ROOT, 'scripts', 'ts.sh'), ...nodeArgs, entry]]
    : [process.execPath, [...nodeArgs, entry]];
  const child = spawn(command, args, {
    cwd: REPO_ROOT,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.detached ?? false,
  });
  return new AppProcess(options.name, child, options);
}

export interface StartOptions extends OutputOptions {
  /** Run the built JavaScript (`pnpm build`) as production does, instead of the sources. */
  compiled?: boolean;
  /** Extra node flags (benchmarks: `--cpu-prof`, which NODE_OPTIONS does not allow). */
  nodeArgs?: readonly string[];
  /**
   * Skew the process's wall clock (libfaketime, e.g. '+45s' or '-45s'); its monotonic clock is
   * left alone. Needs Debian's `faketime` package (scripts/bootstrap.sh installs it for tests).
   */
  clockOffset?: string;
  /** The process's name in errors (default: the app's kind). */
  name?: string;
}

/** libfaketime's preload library, wherever the Debian package put it for this architecture. */
export function libfaketimePath(): string {
  const dirs = ['/usr/lib/faketime', ...safeList('/usr/lib').map((d) => `/usr/lib/${d}/faketime`)];
  const found = dirs.map((dir) => path.join(dir, 'libfaketime.so.1')).find((file) => existsSync(file));
  if (!found)
    throw new Error("libfaketime not found: install Debian's faketime package (apt-get install faketime)");
  return found;
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/**
 * Starts the API or a worker with JSON logs and test defaults; `env` adds to and overrides them.
 * Only PATH is inherited, so a test's settings are all in sight.
 */
export function startApp(kind: AppKind, env: Record<string, string>, options: StartOptions = {}): AppProcess {
  return launch({
    ...options,
    name: options.name ?? kind,
    entry: options.compiled ? APP_ENTRIES[kind].compiled : APP_ENTRIES[kind].source,
    // The app's own flags first: a caller's (a benchmark's) repeat of one overrides it.
    nodeArgs: [...APP_ENTRIES[kind].nodeFlags, ...(options.nodeArgs ?? [])],
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'test',
      LOG_FORMAT: 'json',
      LOG_LEVEL: 'info',
      // Many workers run side by side in tests: never the fixed default metrics port.
      WORKER_METRICS_PORT: '0',
      ...(options.clockOffset === undefined
        ? {}
        : {
            // Preloaded into node itself (the `faketime` command would fork, and signals would miss).
            LD_PRELOAD: libfaketimePath(),
            FAKETIME: options.clockOffset,
            FAKETIME_DONT_FAKE_MONOTONIC: '1',
          }),
      ...env,
    },
  });
}

/**
 * Resolves once `app` logs a line with `message`; if it never does, the process is killed
 * (the caller has no handle to stop it) and the error says why.
 */
export async function started(app: AppProcess, message: string, timeoutMs = 60_000): Promise<LogLine> {
  try {
    return await app.waitForLog((line) => line.message === message, timeoutMs);
  } catch (error) {
    app.kill('SIGKILL');
    throw error;
  }
}

/** Starts the API on a free port and resolves with its base URL once it listens. */
export async function startApi(
  env: Record<string, string>,
  options: StartOptions = {},
): Promise<{ api: AppProcess; baseUrl: string }> {
  const api = startApp('api', { PORT: '0', ...env }, options);
  const listening = await started(api, 'api listening');
  return { api, baseUrl: `http://127.0.0.1:${String(listening.port)}` };
}

export async function startWorker(
  env: Record<string, string>,
  options: StartOptions = {},
): Promise<AppProcess> {
  const worker = startApp('worker', env, options);
  await started(worker, 'worker started');
  return worker;
}
