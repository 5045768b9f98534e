import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';

/** Storage of mongo-java-server: `memory` (serialised per collection) or `h2` (MVStore file). */
export type EmbeddedBackend = 'memory' | 'h2';

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
  const args = [
    '-XX:+UseSerialGC',
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
