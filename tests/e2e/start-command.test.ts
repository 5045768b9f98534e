/**
 * `pnpm start` as a user runs it, with no MONGODB_URL: the embedded database, the API and a
 * worker come up together, a webhook is processed, and Ctrl-C (SIGINT to the process group)
 * stops everything, the database included.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  APP_ENTRIES,
  freePort,
  getJson,
  launch,
  postWebhook,
  REPO_ROOT,
  sampleWebhook,
  waitFor,
  waitForStatus,
} from '@txhook/test-kit';

/** The command lines (argv) of the processes whose parent is `parentPid`, from /proc (Linux). */
function childCommandLines(parentPid: number): string[][] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .flatMap((pid) => {
      try {
        const ppid = Number(/PPid:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
        if (ppid !== parentPid) return [];
        return [readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean)];
      } catch {
        return []; // gone meanwhile
      }
    });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

it('starts database, API and worker in one command and stops them all on Ctrl-C', async () => {
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'txhook-start-'));
  const h2File = path.join(dir, 'data.mv');
  const { MONGODB_URL: _external, ...inherited } = process.env;
  const start = launch({
    name: 'npm start',
    entry: 'scripts/start-all.ts',
    env: {
      ...inherited,
      PORT: String(port),
      PROCESSING_DELAY_MS: '500',
      LOG_FORMAT: 'json',
      // The default H2 backend, on a data file of this test's own.
      EMBEDDED_MONGO_H2_FILE: h2File,
    },
    detached: true, // its own process group, like a shell job
  });
  const { child, rawOutput: output } = start;
  const exited = start.exited.then(({ code }) => code);

  try {
    const baseUrl = `http://127.0.0.1:${port}`;
    await waitFor(
      'health',
      async () => {
        const r = await getJson<{ status: string }>(`${baseUrl}/`).catch(() => undefined);
        return r?.body.status === 'HEALTHY' ? true : undefined;
      },
      60_000,
      250,
    );
    expect(output.join('\n')).toContain('embedded MongoDB stand-in (mongo-java-server, h2 backend');

    const body = sampleWebhook();
    expect((await postWebhook(baseUrl, body)).status).toBe(202);
    await waitForStatus(baseUrl, body.transaction_id, 'PROCESSED', 15_000);

    // Each app runs with the node flags every launch of it carries (the worker's young generation).
    const commandLines = childCommandLines(child.pid!);
    for (const app of ['api', 'worker'] as const) {
      const { nodeFlags } = APP_ENTRIES[app];
      const source = path.resolve(REPO_ROOT, APP_ENTRIES[app].source);
      const argv = commandLines.find((line) => line.includes(source));
      expect(argv).toBeDefined();
      expect(argv!.slice(0, argv!.indexOf(source))).toEqual(expect.arrayContaining([...nodeFlags]));
    }

    const javaPid = Number(/pid (\d+)/.exec(output.join('\n'))?.[1]);
    expect(Number.isInteger(javaPid) && isAlive(javaPid)).toBe(true);
    process.kill(-child.pid!, 'SIGINT');
    expect(await exited).toBe(0);
    await waitFor('database process gone', () => (isAlive(javaPid) ? undefined : true), 10_000);
    const after = await fetch(`${baseUrl}/`).then(
      () => 'answered',
      () => 'refused',
    );
    expect(after).toBe('refused');
    expect(existsSync(h2File)).toBe(true);
  } finally {
    if (child.exitCode === null) process.kill(-child.pid!, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}, 120_000);

it('runs WORKERS=3 workers side by side with the default metrics port, each logging its port', async () => {
  const port = await freePort();
  const { MONGODB_URL: _external, WORKER_METRICS_PORT: _metrics, ...inherited } = process.env;
  const start = launch({
    name: 'npm start',
    entry: 'scripts/start-all.ts',
    env: {
      ...inherited,
      WORKERS: '3',
      PORT: String(port),
      PROCESSING_DELAY_MS: '200',
      LOG_FORMAT: 'json',
      EMBEDDED_MONGO_BACKEND: 'memory',
    },
    detached: true,
  });
  const { child, rawOutput: lines } = start;
  const exited = start.exited.then(({ code }) => code);
  /** JSON log lines of one prefixed service ("[worker-2] {...}"). */
  const logsOf = (name: string): Record<string, unknown>[] =>
    lines
      .filter((line) => line.startsWith(`[${name}] {`))
      .map((line) => JSON.parse(line.slice(name.length + 3)) as Record<string, unknown>);
  const workers = ['worker-1', 'worker-2', 'worker-3'];

  try {
    await waitFor(
      'three workers started',
      () =>
        workers.every((name) => logsOf(name).some((l) => l.message === 'worker started')) ? true : undefined,
      90_000,
      250,
    );
    const metricsPorts = workers.map((name) =>
      Number(logsOf(name).find((l) => l.message === 'metrics listening')?.port),
    );
    expect(new Set(metricsPorts).size).toBe(3);
    for (const metricsPort of metricsPorts) {
      expect((await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).status).toBe(200);
    }
    const baseUrl = `http://127.0.0.1:${port}`;
    await waitFor(
      'health',
      async () => ((await getJson(`${baseUrl}/`).catch(() => undefined))?.status === 200 ? true : undefined),
      60_000,
      250,
    );
    const body = sampleWebhook();
    expect((await postWebhook(baseUrl, body)).status).toBe(202);
    await waitForStatus(baseUrl, body.transaction_id, 'PROCESSED', 15_000);

    process.kill(-child.pid!, 'SIGINT');
    expect(await exited).toBe(0);
    for (const name of workers) expect(logsOf(name).some((l) => l.message === 'worker stopped')).toBe(true);
  } finally {
    if (child.exitCode === null) process.kill(-child.pid!, 'SIGKILL');
  }
}, 150_000);
