/**
 * Workers scale on one host: with the default metrics port (WORKER_METRICS_PORT not set), any
 * number of workers start side by side, each on its own port, each telling where in its log. A
 * port set explicitly is a promise to the scraper: when it is taken the worker refuses to start.
 */
import net from 'node:net';
import { e2eContext, e2eEnv, startApp } from '@txhook/test-kit';

const env = e2eEnv('worker_ports');
const ctx = e2eContext(() => env);

/** The default port, unset: loadConfig treats an empty value as "not set". */
const DEFAULT_PORT = { WORKER_METRICS_PORT: '' };

it('starts three workers with the default metrics port config, each serving /metrics on its own port', async () => {
  // Registered before waiting, so a worker that did start is stopped even when another fails.
  const workers = [1, 2, 3].map(() => startApp('worker', { ...env, ...DEFAULT_PORT }));
  ctx.processes.push(...workers);
  await Promise.all(workers.map((w) => w.waitForLog((l) => l.message === 'worker started', 60_000)));
  const ports = await Promise.all(
    workers.map(async (worker) => {
      const line = await worker.waitForLog((l) => l.message === 'metrics listening', 10_000);
      return Number(line.port);
    }),
  );
  expect(new Set(ports).size).toBe(3);
  for (const port of ports) {
    const response = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('txhook_worker_');
  }
  expect(workers.every((worker) => worker.running)).toBe(true);
}, 90_000);

it('refuses to start when an explicitly configured metrics port is taken', async () => {
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '0.0.0.0', resolve));
  const { port } = blocker.address() as net.AddressInfo;
  try {
    const worker = startApp('worker', { ...env, WORKER_METRICS_PORT: String(port) });
    ctx.processes.push(worker);
    const { code } = await worker.exited;
    expect(code).toBe(1);
    expect(worker.rawOutput.join('\n')).toContain(`WORKER_METRICS_PORT ${port} is in use`);
  } finally {
    blocker.close();
  }
}, 60_000);
