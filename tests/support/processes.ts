import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';

const ROOT = path.resolve(__dirname, '..', '..');
const ENTRIES = {
  api: 'apps/api/src/main.ts',
  worker: 'apps/worker/src/main.ts',
} as const;

/** One JSON log line of an app (LOG_FORMAT=json). */
export type LogLine = Record<string, unknown> & { message?: string };

/** An API or worker process started for real, with its JSON log lines collected. */
export class AppProcess {
  readonly logs: LogLine[] = [];
  readonly rawOutput: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly waiters = new Set<() => void>();

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue;
      readline.createInterface({ input: stream }).on('line', (line) => {
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
  async stop(timeoutMs = 20_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    this.kill('SIGTERM');
    const timer = setTimeout(() => this.kill('SIGKILL'), timeoutMs);
    const result = await this.exited;
    clearTimeout(timer);
    return result;
  }
}

export interface StartOptions {
  /** Run the built JavaScript (`pnpm build`) as production does, instead of the sources via ts-node. */
  compiled?: boolean;
  /** Extra node flags (benchmarks: `--cpu-prof`, which NODE_OPTIONS does not allow). */
  nodeArgs?: readonly string[];
  /**
   * Skew the process's wall clock (libfaketime, e.g. '+45s' or '-45s'); its monotonic clock is
   * left alone. Needs Debian's `faketime` package (scripts/bootstrap.sh installs it for tests).
   */
  clockOffset?: string;
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

export function startApp(
  kind: keyof typeof ENTRIES,
  env: Record<string, string>,
  options: StartOptions = {},
): AppProcess {
  const args = [
    ...(options.nodeArgs ?? []),
    ...(options.compiled
      ? [path.join(ROOT, `apps/${kind}/dist/main.js`)]
      : [
          '--conditions=development',
          '-r',
          'ts-node/register/transpile-only',
          path.join(ROOT, ENTRIES[kind]),
        ]),
  ];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
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
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new AppProcess(kind, child);
}

/** Starts the API on a free port and resolves with its base URL once it listens. */
export async function startApi(
  env: Record<string, string>,
  options: StartOptions = {},
): Promise<{ api: AppProcess; baseUrl: string }> {
  const api = startApp('api', { PORT: '0', ...env }, options);
  const listening = await api.waitForLog((line) => line.message === 'api listening', 60_000);
  return { api, baseUrl: `http://127.0.0.1:${String(listening.port)}` };
}

export async function startWorker(
  env: Record<string, string>,
  options: StartOptions = {},
): Promise<AppProcess> {
  const worker = startApp('worker', env, options);
  await worker.waitForLog((line) => line.message === 'worker started', 60_000);
  return worker;
}
