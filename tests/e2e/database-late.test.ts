/**
 * The database comes up after the apps (compose restarts, host reboots): both must wait for it
 * and then work, not crash-loop or stay stuck on a closed client. Uses an embedded server of its
 * own, started late on a port the apps were already told about.
 */
import { startEmbeddedMongo, type EmbeddedMongo } from '@txhook/embedded-mongo';
import {
  type AppProcess,
  e2eEnv,
  freePort,
  postWebhook,
  sampleWebhook,
  startApp,
  stopAll,
  waitForStatus,
} from '@txhook/test-kit';

const processes: AppProcess[] = [];
let database: EmbeddedMongo | undefined;

afterAll(async () => {
  await stopAll(processes);
  await database?.stop();
});

it('API and worker wait for a late database, then serve and process', async () => {
  const port = await freePort();
  const env = e2eEnv('late', {
    MONGODB_URL: `mongodb://127.0.0.1:${port}`,
    PORT: '0',
    PROCESSING_DELAY_MS: '300',
  });
  const api = startApp('api', env);
  const worker = startApp('worker', env);
  processes.push(api, worker);

  const notReady = (line: { message?: string }) => line.message === 'database not ready, retrying';
  await Promise.all([api.waitForLog(notReady, 30_000), worker.waitForLog(notReady, 30_000)]);
  expect(api.running && worker.running).toBe(true);

  database = await startEmbeddedMongo({ port });
  const listening = await api.waitForLog((line) => line.message === 'api listening', 30_000);
  await worker.waitForLog((line) => line.message === 'worker started', 30_000);

  const baseUrl = `http://127.0.0.1:${String(listening.port)}`;
  const body = sampleWebhook();
  expect((await postWebhook(baseUrl, body)).status).toBe(202);
  await waitForStatus(baseUrl, body.transaction_id, 'PROCESSED', 10_000);

  // A signal while waiting or working still ends both with exit code 0.
  expect(await api.stop()).toEqual({ code: 0, signal: null });
  expect(await worker.stop()).toEqual({ code: 0, signal: null });
}, 90_000);
