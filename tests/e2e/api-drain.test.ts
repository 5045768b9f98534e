/**
 * The API drains cleanly on SIGTERM: a client holding a keep-alive connection that was busy at
 * that moment gets its answer with `Connection: close` and is not served anything new on that
 * connection; /readyz fails while draining; the process exits once in-flight work is done, long
 * before the grace period ends.
 */
import http from 'node:http';
import {
  e2eContext,
  e2eEnv,
  getJson,
  sampleWebhook,
  startApi,
  waitFor,
  type WebhookBody,
} from '@txhook/test-kit';

const GRACE_MS = 20_000;
const env = e2eEnv('api_drain', { SHUTDOWN_GRACE_MS: String(GRACE_MS) });
const ctx = e2eContext(() => env);

interface Answer {
  status: number;
  connection: string | undefined;
  /** Local port of the client socket: the same port means the same connection. */
  localPort: number | undefined;
}

/**
 * POSTs a webhook through `agent`. `beforeRest`, when given, runs after the first half of the body
 * is sent and before the rest: the request is in flight on the server meanwhile.
 */
function post(
  agent: http.Agent,
  baseUrl: string,
  body: WebhookBody,
  beforeRest?: () => Promise<void>,
): Promise<Answer> {
  const url = new URL('/v1/webhooks/transactions', baseUrl);
  const payload = Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        agent,
        method: 'POST',
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        headers: { 'content-type': 'application/json', 'content-length': payload.length },
      },
      (response) => {
        response.resume();
        response.once('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            connection: response.headers.connection,
            localPort: request.socket?.localPort,
          }),
        );
      },
    );
    request.once('error', reject);
    const half = Math.floor(payload.length / 2);
    request.write(payload.subarray(0, half));
    void (beforeRest ?? (() => Promise.resolve()))().then(() => request.end(payload.subarray(half)), reject);
  });
}

it('answers a request in flight at SIGTERM with Connection: close, serves nothing new on that connection, exits early', async () => {
  const { api, baseUrl } = await startApi(env);
  ctx.processes.push(api);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const warmUp = await post(agent, baseUrl, sampleWebhook());
    expect(warmUp.status).toBe(202);
    expect(warmUp.connection).toBe('keep-alive');

    const inFlight = sampleWebhook();
    let signalledAt = 0;
    const answer = await post(agent, baseUrl, inFlight, async () => {
      await new Promise((resolve) => setTimeout(resolve, 200)); // the server is reading the body
      signalledAt = Date.now();
      api.kill('SIGTERM');
      await api.waitForLog((line) => line.message === 'shutting down', 10_000);
    });
    // What was in flight is finished and stored, and the client is told the connection ends.
    expect(answer.status).toBe(202);
    expect(answer.localPort).toBe(warmUp.localPort);
    expect(answer.connection).toBe('close');
    const stored = await ctx.store.transactions.findOne({ transaction_id: inFlight.transaction_id });
    expect(stored?.transaction_id).toBe(inFlight.transaction_id);

    // Nothing new is taken after SIGTERM: no connection is reused and the listener is closed.
    const late = sampleWebhook();
    const lateAnswer = await post(agent, baseUrl, late).then(
      (a) => `answered ${a.status} on port ${a.localPort}`,
      (error: NodeJS.ErrnoException) => `refused (${error.code})`,
    );
    expect(lateAnswer).toMatch(/^refused/);
    expect(await ctx.store.transactions.countDocuments({ transaction_id: late.transaction_id })).toBe(0);

    const { code } = await api.exited;
    expect(code).toBe(0);
    // Nothing was left in flight, so it does not sit out the grace period.
    expect(Date.now() - signalledAt).toBeLessThan(GRACE_MS * 0.75);
  } finally {
    agent.destroy();
  }
}, 90_000);

it('fails /readyz and closes connections while it waits for the load balancer to notice, then stops listening', async () => {
  const delayEnv = { ...env, SHUTDOWN_DRAIN_DELAY_MS: '3000' };
  const { api, baseUrl } = await startApi(delayEnv);
  ctx.processes.push(api);
  expect((await getJson<{ status: string }>(`${baseUrl}/readyz`)).status).toBe(200);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    // An idle keep-alive connection (a load balancer's) is not reset while it is told to go.
    const idle = await post(agent, baseUrl, sampleWebhook());
    expect(idle.connection).toBe('keep-alive');
    api.kill('SIGTERM');
    await api.waitForLog((line) => line.message === 'shutting down', 10_000);
    const readiness = await getJson<{ status: string }>(`${baseUrl}/readyz`);
    expect(readiness.status).toBe(503);
    expect(readiness.body.status).toBe('draining');
    expect(readiness.headers.get('connection')).toBe('close');
    // A request the load balancer still sends in that window is served, on a closing connection.
    const straggler = await post(agent, baseUrl, sampleWebhook());
    expect(straggler.status).toBe(202);
    expect(straggler.connection).toBe('close');
    expect(straggler.localPort).toBe(idle.localPort);
    // Then the listener closes and the process exits.
    await waitFor(
      'listener closed',
      () =>
        fetch(`${baseUrl}/livez`).then(
          () => undefined,
          () => true,
        ),
      15_000,
      200,
    );
    expect((await api.exited).code).toBe(0);
  } finally {
    agent.destroy();
  }
}, 90_000);
