import { createHash } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MongoClient } from 'mongodb';
import { Registry } from 'prom-client';
import { createLogger } from '@txhook/platform';
import { LeaseQueue, TransactionStore, transactionWebhookSchema } from '@txhook/transactions';
import { createApp } from '../src/app';
import {
  freePort,
  getJson,
  openTestDatabase,
  postWebhook,
  requestJson,
  sample,
  sampleWebhook,
  scrape,
  type TestDatabase,
} from '@txhook/test-kit';

const logger = createLogger('api-test', { LOG_LEVEL: 'error', LOG_FORMAT: 'json', NODE_ENV: 'test' });

interface View {
  transaction_id: string;
  status: string;
  created_at: string;
}
interface ListBody {
  data: View[];
  next_cursor: string | null;
}
interface ErrorBody {
  error: { code: string; message: string; details?: { field: string; message: string }[] };
}

async function serve(client: MongoClient, repository: TransactionStore) {
  const app = createApp({
    client,
    repository,
    logger,
    bodyLimitBytes: 16_384,
    healthPingTimeoutMs: 1_000,
    registry: new Registry(),
  });
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return { server, baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

let database: TestDatabase;
let server: Server;
let baseUrl: string;

beforeAll(async () => {
  database = await openTestDatabase('operations');
  ({ server, baseUrl } = await serve(database.client, database.repository));
});
afterAll(async () => {
  await close(server);
  await database.drop();
});

/** Claims and finishes `n` due records as a worker would. */
async function processSome(n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const queue = new LeaseQueue(database.db);
    const [claimed] = (await queue.claim('test-worker', 10_000, 1)).claimed;
    if (!claimed) throw new Error('nothing to claim');
    expect(await queue.finish([claimed])).toEqual(new Set([claimed.transaction_id]));
  }
}

describe('X-Request-Id', () => {
  it('echoes a sane caller id and generates a UUID otherwise', async () => {
    const given = await requestJson(`${baseUrl}/livez`, { headers: { 'x-request-id': 'req-1.abc_DEF' } });
    expect(given.headers.get('x-request-id')).toBe('req-1.abc_DEF');

    const generated = await requestJson(`${baseUrl}/livez`);
    expect(generated.headers.get('x-request-id')).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/,
    );

    for (const insane of ['has space', 'semi;colon', 'x'.repeat(129)]) {
      const replaced = await requestJson(`${baseUrl}/livez`, { headers: { 'x-request-id': insane } });
      expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    }
    // Also on errors, which leave through the error handler.
    const notFound = await requestJson(`${baseUrl}/nope`, { headers: { 'x-request-id': 'err-1' } });
    expect(notFound.status).toBe(404);
    expect(notFound.headers.get('x-request-id')).toBe('err-1');
  });
});

describe('GET /v1/transactions', () => {
  const ids: string[] = [];
  beforeAll(async () => {
    await database.repository.collection.deleteMany({});
    // 25 records, sequential so created_at is non-decreasing; several share a millisecond.
    for (let i = 0; i < 25; i++) {
      const { record } = await database.repository.recordWebhook(
        transactionWebhookSchema.parse(
          sampleWebhook({ transaction_id: `list-${String(i).padStart(2, '0')}` }),
        ),
      );
      ids.push(record.transaction_id);
    }
    await processSome(7); // the 7 oldest become PROCESSED
  });

  it('pages newest first by 10 with no gaps or repeats, then next_cursor null', async () => {
    const seen: View[] = [];
    const sizes: number[] = [];
    let url = `${baseUrl}/v1/transactions?limit=10`;
    for (;;) {
      const page = await getJson<ListBody>(url);
      expect(page.status).toBe(200);
      sizes.push(page.body.data.length);
      seen.push(...page.body.data);
      if (page.body.next_cursor === null) break;
      expect(page.body.next_cursor).toMatch(/^[A-Za-z0-9_-]+$/);
      url = `${baseUrl}/v1/transactions?limit=10&cursor=${page.body.next_cursor}`;
    }
    expect(sizes).toEqual([10, 10, 5]);
    // Inserted one after another: newest first is the reverse insertion order.
    expect(seen.map((v) => v.transaction_id)).toEqual([...ids].reverse());
    const times = seen.map((v) => Date.parse(v.created_at));
    expect(times).toEqual([...times].sort((a, b) => b - a));
  });

  it('filters by status, with the default limit', async () => {
    const processed = await getJson<ListBody>(`${baseUrl}/v1/transactions?status=PROCESSED`);
    expect(processed.body.data.map((v) => v.transaction_id)).toEqual(ids.slice(0, 7).reverse());
    expect(processed.body.next_cursor).toBeNull();
    const processing = await getJson<ListBody>(`${baseUrl}/v1/transactions?status=PROCESSING&limit=200`);
    expect(processing.body.data).toHaveLength(18);
    expect(processing.body.data.every((v) => v.status === 'PROCESSING')).toBe(true);
  });

  it('answers 400 in the one error shape for a bad status, limit or cursor', async () => {
    const cases: [string, string, string][] = [
      ['status=DONE', 'invalid_query', 'status'],
      ['status=processed', 'invalid_query', 'status'],
      ['limit=0', 'invalid_query', 'limit'],
      ['limit=201', 'invalid_query', 'limit'],
      ['limit=ten', 'invalid_query', 'limit'],
      ['limit=1&limit=2', 'invalid_query', 'limit'],
      ['cursor=not-a-cursor', 'invalid_cursor', 'cursor'],
      [`cursor=${Buffer.from('{"t":1,"i":"zz"}').toString('base64url')}`, 'invalid_cursor', 'cursor'],
    ];
    for (const [query, code, field] of cases) {
      const response = await getJson<ErrorBody>(`${baseUrl}/v1/transactions?${query}`);
      expect({ query, status: response.status, code: response.body.error.code }).toEqual({
        query,
        status: 400,
        code,
      });
      expect(response.body.error.details?.[0]?.field).toBe(field);
    }
  });

  it('names the allowed range for any limit out of it, however many digits it has', async () => {
    for (const limit of ['0', '201', '100000', '-1', '1.5', 'ten']) {
      const response = await getJson<ErrorBody>(`${baseUrl}/v1/transactions?limit=${limit}`);
      expect({ limit, status: response.status, message: response.body.error.details?.[0]?.message }).toEqual({
        limit,
        status: 400,
        message: 'must be a whole number from 1 to 200',
      });
    }
  });

  it('accepts the maximum limit of 200', async () => {
    const response = await getJson<ListBody>(`${baseUrl}/v1/transactions?limit=200`);
    expect(response.status).toBe(200);
    expect(response.body.data).toHaveLength(25);
  });
});

describe('GET /v1/stats', () => {
  it('reports counts, backlog, lag and the last minute after processing', async () => {
    await database.repository.collection.deleteMany({});
    for (let i = 0; i < 6; i++) {
      await database.repository.recordWebhook(transactionWebhookSchema.parse(sampleWebhook()));
    }
    await processSome(4);
    // The answer is cached for 1 s: poll until it reflects this state.
    const deadline = Date.now() + 5_000;
    let body: Record<string, unknown> = {};
    while (Date.now() < deadline) {
      const response = await getJson<Record<string, unknown>>(`${baseUrl}/v1/stats`);
      expect(response.status).toBe(200);
      body = response.body;
      if ((body.counts as Record<string, number>).PROCESSED === 4) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(body).toMatchObject({
      counts: { PROCESSING: 2, PROCESSED: 4, FAILED: 0 },
      due: 2,
      throughput: { processed_last_60s: 4, received_last_60s: 6 },
      processing_lag_seconds: { sample_size: 4 },
    });
    const lag = body.processing_lag_seconds as { p50: number; p99: number };
    expect(lag.p50).toBeGreaterThanOrEqual(0);
    expect(lag.p99).toBeGreaterThanOrEqual(lag.p50);
    expect(lag.p99).toBeLessThan(60);
    expect(body.oldest_due_age_seconds).toEqual(expect.any(Number));
    expect(body.oldest_due_age_seconds as number).toBeLessThan(60);
  });
});

describe('GET /metrics', () => {
  it('counts webhooks by outcome and times their acknowledgement', async () => {
    const before = await scrape(`${baseUrl}/metrics`);
    const body = sampleWebhook();
    expect((await postWebhook(baseUrl, body)).status).toBe(202);
    expect((await postWebhook(baseUrl, body)).status).toBe(200);
    expect((await postWebhook(baseUrl, body)).status).toBe(200);
    expect((await postWebhook(baseUrl, { ...body, amount: '999.00' })).status).toBe(409);
    expect((await postWebhook(baseUrl, { ...body, currency: 'XXX' })).status).toBe(400);
    expect((await postWebhook(baseUrl, 'not json')).status).toBe(400);
    expect((await postWebhook(baseUrl, '{}', { 'content-type': 'text/plain' })).status).toBe(415);
    const after = await scrape(`${baseUrl}/metrics`);

    const delta = (outcome: string) =>
      sample(after, 'txhook_webhooks_received_total', { outcome })! -
      sample(before, 'txhook_webhooks_received_total', { outcome })!;
    expect(delta('accepted')).toBe(1);
    expect(delta('duplicate')).toBe(2);
    expect(delta('conflict')).toBe(1);
    expect(delta('invalid')).toBe(3);
    // Defined from the start (for signature checks), still 0.
    expect(sample(after, 'txhook_webhooks_received_total', { outcome: 'unauthorized' })).toBe(0);
    const acks = (s: Map<string, number>) =>
      sample(s, 'txhook_webhook_ack_duration_seconds_count', { outcome: 'duplicate' }) ?? 0;
    expect(acks(after) - acks(before)).toBe(2);
    // Default process metrics are there too.
    expect(sample(after, 'process_cpu_user_seconds_total')).toEqual(expect.any(Number));
    expect(sample(after, 'txhook_database_stats_up')).toBe(1);
  });

  it('reads records by status and the oldest due age from the database', async () => {
    await database.repository.collection.deleteMany({});
    // A fresh app: the queue gauges are cached for 5 s per app.
    const fresh = await serve(database.client, database.repository);
    try {
      for (let i = 0; i < 3; i++) {
        await database.repository.recordWebhook(transactionWebhookSchema.parse(sampleWebhook()));
      }
      await processSome(1);
      await new Promise((resolve) => setTimeout(resolve, 50));
      const metrics = await scrape(`${fresh.baseUrl}/metrics`);
      expect(sample(metrics, 'txhook_records', { status: 'PROCESSING' })).toBe(2);
      expect(sample(metrics, 'txhook_records', { status: 'PROCESSED' })).toBe(1);
      expect(sample(metrics, 'txhook_records', { status: 'FAILED' })).toBe(0);
      expect(sample(metrics, 'txhook_due_records')).toBe(2);
      expect(sample(metrics, 'txhook_oldest_due_age_seconds')).toBeGreaterThan(0);
    } finally {
      await close(fresh.server);
    }
  });
});

describe('GET /livez and /readyz', () => {
  it('are 200 with a reachable database and every index in place', async () => {
    expect(await getJson(`${baseUrl}/livez`)).toMatchObject({ status: 200, body: { status: 'live' } });
    const ready = await getJson(`${baseUrl}/readyz`);
    expect(ready).toMatchObject({
      status: 200,
      body: { status: 'ready', checks: { database: { ok: true }, indexes: { ok: true } } },
    });
  });

  it('readyz is 503 naming the missing index', async () => {
    const other = await openTestDatabase('readyz');
    const app = await serve(other.client, other.repository);
    try {
      await other.repository.collection.dropIndex('status_due_at_id');
      const response = await getJson(`${app.baseUrl}/readyz`);
      expect(response).toMatchObject({
        status: 503,
        body: {
          status: 'not_ready',
          checks: { database: { ok: true }, indexes: { ok: false, missing: ['status_due_at_id'] } },
        },
      });
    } finally {
      await close(app.server);
      await other.drop();
    }
  });

  it('readyz is 503 naming the database when it is unreachable; livez stays 200', async () => {
    const deadClient = new MongoClient(`mongodb://127.0.0.1:${await freePort()}`, {
      serverSelectionTimeoutMS: 500,
      connectTimeoutMS: 500,
    });
    const app = await serve(deadClient, new TransactionStore(deadClient.db('nowhere')));
    try {
      const ready = await getJson<{ status: string; checks: { database: { ok: boolean; error: string } } }>(
        `${app.baseUrl}/readyz`,
      );
      expect(ready.status).toBe(503);
      expect(ready.body.status).toBe('not_ready');
      expect(ready.body.checks.database.ok).toBe(false);
      expect(ready.body.checks.database.error).toEqual(expect.any(String));
      expect((await getJson(`${app.baseUrl}/livez`)).status).toBe(200);
      // The queue gauges say the read failed instead of showing stale numbers.
      const metrics = await scrape(`${app.baseUrl}/metrics`);
      expect(sample(metrics, 'txhook_database_stats_up')).toBe(0);
      expect(sample(metrics, 'txhook_records', { status: 'PROCESSING' })).toBeUndefined();
    } finally {
      await close(app.server);
      await deadClient.close();
    }
  });
});

describe('GET /dashboard', () => {
  it('is HTML with a strict CSP whose script hash matches the inline script', async () => {
    const response = await fetch(`${baseUrl}/dashboard`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    const html = await response.text();
    const script = /<script>([\s\S]*)<\/script>/.exec(html)?.[1] ?? '';
    const hash = createHash('sha256').update(script).digest('base64');
    expect(csp).toContain(`script-src 'sha256-${hash}'`);
    // Nothing is loaded from anywhere else (the SVG namespace URI is a name, not a fetch).
    expect(html).not.toMatch(/(src|href)=["']?(https?:)?\/\//);
  });
});
