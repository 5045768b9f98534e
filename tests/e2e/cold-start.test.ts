/**
 * A freshly started API and its first burst: 64 senders posting at once as soon as it listens.
 * Cold, the API took about 500 ms to work through the first request of each connection, so the
 * last of them were acknowledged late (bench/analysis.md, "A cold API's first burst"); it now
 * warms its request path before it listens (apps/api/src/warm-up.ts).
 */
import { Agent, request } from 'node:http';
import { e2eEnv, openCollection, sample, sampleWebhook, scrape, startApi, stopAll } from '@txhook/test-kit';

const SENDERS = 64;
const BURST_MS = 1_500;

/** Cold, about half of the first bursts had answers over 500 ms: three fresh APIs show it. */
it.each([1, 2, 3])(
  'fresh API %i acknowledges every webhook of its first burst within 500 ms; its warm-up left no trace',
  async () => {
    // Production, as deployed (signatures off here: the burst is unsigned).
    const env = e2eEnv('cold_start', { NODE_ENV: 'production', ALLOW_INSECURE: 'true' });
    const store = await openCollection(env);
    const { api, baseUrl } = await startApi(env);
    try {
      const burst = await postBurst(`${baseUrl}/v1/webhooks/transactions`);

      expect(burst.statuses).toEqual(new Map([[202, burst.answers.length]]));
      expect(burst.answers.length).toBeGreaterThan(SENDERS * 2);
      // Cold, the first requests of the 64 connections were answered in 500-900 ms.
      expect(Math.max(...burst.answers)).toBeLessThan(500);

      // The warm-up posted its webhooks, all answered as new ones ...
      expect(api.logsWith('api warmed up')).toEqual([
        expect.objectContaining({ requests: 1_000, accepted: 1_000 }),
      ]);
      // ... and stored, counted and logged none of them: only the burst's are anywhere.
      expect(await store.transactions.countDocuments()).toBe(burst.answers.length);
      const metrics = await scrape(`${baseUrl}/metrics`);
      expect(sample(metrics, 'txhook_webhooks_received_total', { outcome: 'accepted' })).toBe(
        burst.answers.length,
      );
      const posts = api.logsWith('request completed').filter((line) => line.method === 'POST');
      expect(posts).toHaveLength(burst.answers.length);
    } finally {
      await stopAll([api]);
      await store.close();
    }
  },
  60_000,
);

/** Each sender opens its own connection at once and posts new webhooks back to back over it. */
async function postBurst(url: string): Promise<{ answers: number[]; statuses: Map<number, number> }> {
  const agent = new Agent({ keepAlive: true, maxSockets: SENDERS });
  const answers: number[] = [];
  const statuses = new Map<number, number>();
  const until = Date.now() + BURST_MS;
  const sender = async () => {
    while (Date.now() < until) {
      const started = performance.now();
      const status = await post(agent, url, JSON.stringify(sampleWebhook()));
      answers.push(performance.now() - started);
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
  };
  try {
    await Promise.all(Array.from({ length: SENDERS }, sender));
  } finally {
    agent.destroy();
  }
  return { answers, statuses };
}

function post(agent: Agent, url: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { agent, method: 'POST', headers: { 'content-type': 'application/json' } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
