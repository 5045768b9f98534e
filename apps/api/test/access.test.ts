import { createHash, randomBytes } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { createLogger, type Logger } from '@txhook/platform';
import { newTransactionDocument, transactionWebhookSchema, TransactionStatus } from '@txhook/transactions';
import { createApp } from '../src/app';
import { accessFor, ROUTE_RULES, type Access, type RouteRule } from '../src/access';
import { loadApiConfig } from '../src/config';
import { OperatorAuth } from '../src/operator-auth';
import { openTestDatabase, requestJson, sampleWebhook, type TestDatabase } from '@txhook/test-kit';
import { expectErrorShape, serve, servedRoutes, type Served } from './serve';

const newToken = () => `txk_${randomBytes(32).toString('base64url')}`;
const digest = (token: string) => createHash('sha256').update(token).digest('hex');
const TOKENS = { read: newToken(), operate: newToken(), metrics: newToken(), wrong: newToken() };
const OPERATOR_KEYS = `grafana:read:${digest(TOKENS.read)},alice:operate:${digest(TOKENS.operate)}`;
const config = loadApiConfig({ OPERATOR_KEYS, METRICS_TOKEN: TOKENS.metrics });
const auth = () => new OperatorAuth(config.OPERATOR_KEYS, config.METRICS_TOKEN);
const SECRET = 'whsec_access_0123456789abcdef';

type Caller = 'none' | 'wrong' | 'read' | 'operate' | 'metrics';
const CALLERS: Caller[] = ['none', 'wrong', 'read', 'operate', 'metrics'];
const authorization = (caller: Caller): Record<string, string> =>
  caller === 'none' ? {} : { authorization: `Bearer ${TOKENS[caller]}` };

const UNAUTHORIZED = { error: { code: 'unauthorized', message: 'Missing or invalid credentials' } };

let database: TestDatabase;
let logger: Logger;
let api: Served;
let strict: Served;
let existingId: string;

beforeAll(async () => {
  database = await openTestDatabase('access');
  logger = createLogger('access-test', { LOG_LEVEL: 'error', LOG_FORMAT: 'json', NODE_ENV: 'test' });
  const signature = { secrets: [SECRET], toleranceSeconds: 300 };
  api = await serve(database.client, database.repository, { logger, auth: auth(), signature });
  strict = await serve(database.client, database.repository, {
    logger,
    auth: auth(),
    signature,
    statusRequiresKey: true,
  });
  existingId = (await database.repository.recordWebhook(transactionWebhookSchema.parse(sampleWebhook())))
    .record.transaction_id;
});
afterAll(async () => {
  await api.close();
  await strict.close();
  await database.drop();
});

describe('the route table', () => {
  it('has a rule for every route the app serves, and serves every rule', () => {
    const app = createApp({
      client: database.client,
      repository: database.repository,
      logger,
      bodyLimitBytes: 16_384,
    });
    const served = servedRoutes(app).map((route) => `${route.method} ${route.path}`);
    const ruled = ROUTE_RULES.map((rule) => `${rule.method} ${rule.path}`);
    // HEAD is answered by GET routes; every other served method needs its own rule.
    expect([...new Set(served)].filter((route) => !ruled.includes(route))).toEqual([]);
    expect(ruled.filter((route) => !served.includes(route))).toEqual([]);
  });

  it('denies by default: unknown paths and methods without a rule need operate', () => {
    expect(accessFor('GET', '/v1/secret-new-thing')).toBe('operate');
    expect(accessFor('HEAD', '/metrics')).toBe('metrics');
    expect(accessFor('GET', '/V1/STATS/')).toBe('read');
    expect(accessFor('POST', '/v1/transactions/retry')).toBe('operate');
    expect(accessFor('GET', '/v1/transactions/retry')).toBe('status');
  });
});

/** A request that reaches the route's own handler once access is granted. */
function requestFor(rule: RouteRule): { path: string; init: RequestInit } {
  const path = rule.path.replace(':transaction_id', existingId).replace(':source', 'psp-a');
  if (rule.method === 'GET') return { path, init: {} };
  const body =
    rule.access === 'signature'
      ? JSON.stringify(sampleWebhook())
      : rule.path === '/v1/transactions/retry'
        ? '{"limit":1}'
        : '{}';
  return { path, init: { method: 'POST', body, headers: { 'content-type': 'application/json' } } };
}

/** What each caller gets for each kind of rule: granted (the route answers), 401 or 403. */
function expected(access: Access, caller: Caller, statusRequiresKey: boolean): 'granted' | 401 | 403 {
  const needed = access === 'status' ? (statusRequiresKey ? 'read' : 'public') : access;
  if (needed === 'public' || needed === 'signature') return 'granted';
  if (caller === 'none' || caller === 'wrong') return 401;
  if (needed === 'metrics') return 'granted';
  if (caller === 'metrics') return 403;
  if (needed === 'operate' && caller === 'read') return 403;
  return 'granted';
}

describe.each([
  ['default', false],
  ['STATUS_REQUIRES_KEY=true', true],
] as const)('access matrix (%s)', (_label, statusRequiresKey) => {
  const cases = ROUTE_RULES.flatMap((rule) =>
    CALLERS.map((caller) => [rule.method, rule.path, caller, rule] as const),
  );
  it.each(cases)('%s %s with %s credentials', async (_method, _path, caller, rule) => {
    const server = statusRequiresKey ? strict : api;
    const { path, init } = requestFor(rule);
    const response = await requestJson(`${server.baseUrl}${path}`, {
      ...init,
      headers: { ...(init.headers as Record<string, string>), ...authorization(caller) },
    }).catch(async () => {
      // Non-JSON answers (metrics text, the dashboard page) are read as text.
      const raw = await fetch(`${server.baseUrl}${path}`, {
        ...init,
        headers: { ...(init.headers as Record<string, string>), ...authorization(caller) },
      });
      return { status: raw.status, body: await raw.text(), headers: raw.headers };
    });
    const outcome = expected(rule.access, caller, statusRequiresKey);
    if (outcome === 401) {
      expect(response.status).toBe(401);
      // The same answer whatever went wrong: no hint whether the key exists.
      expect(response.body).toEqual(UNAUTHORIZED);
      expect(response.headers.get('www-authenticate')).toBe('Bearer realm="txhook"');
    } else if (outcome === 403) {
      expect(response.status).toBe(403);
      expectErrorShape(response.body, 'forbidden');
    } else if (rule.access === 'signature') {
      // An operator key never stands in for a webhook signature.
      expect(response.status).toBe(401);
      expect(response.body).toEqual({ error: { code: 'unauthorized', message: 'Invalid signature' } });
    } else {
      expect([200, 202]).toContain(response.status);
    }
  });
});

describe('authentication failures', () => {
  it.each([
    ['no header', undefined],
    ['a wrong token', `Bearer ${TOKENS.wrong}`],
    ['another scheme', `Basic ${Buffer.from('alice:x').toString('base64')}`],
    ['a token with spaces', `Bearer ${TOKENS.operate} x`],
    ['the SHA-256 instead of the token', `Bearer ${digest(TOKENS.operate)}`],
    ['an oversized token', `Bearer ${'a'.repeat(10_000)}`],
  ])('%s: the one 401, the reason only in the log', async (_name, header) => {
    const warn = jest.spyOn(logger, 'warn');
    try {
      const response = await requestJson(`${api.baseUrl}/v1/stats`, {
        headers: header === undefined ? {} : { authorization: header },
      });
      expect(response.status).toBe(401);
      expect(response.body).toEqual(UNAUTHORIZED);
      expect(warn).toHaveBeenCalledWith(
        'operator authentication refused',
        expect.objectContaining({ reason: expect.stringMatching(/^(missing|malformed|unknown)$/) }),
      );
    } finally {
      warn.mockRestore();
    }
  });

  it('keeps unknown routes and other methods behind a key (no route discovery)', async () => {
    expect((await requestJson(`${api.baseUrl}/v1/secret`)).status).toBe(401);
    expect((await requestJson(`${api.baseUrl}/v1/stats`, { method: 'DELETE' })).status).toBe(401);
    const known = await requestJson(`${api.baseUrl}/v1/stats`, {
      method: 'DELETE',
      headers: authorization('read'),
    });
    expect(known.status).toBe(405);
  });
});

describe('operator POSTs are not CSRF-able', () => {
  it('refuses a requeue without a JSON content type, even with a key, and changes nothing', async () => {
    const id = await failedRecord('boom');
    const contentTypes: Record<string, string>[] = [
      {},
      { 'content-type': 'text/plain' },
      { 'content-type': 'application/x-www-form-urlencoded' },
    ];
    for (const headers of contentTypes) {
      const response = await requestJson(`${api.baseUrl}/v1/transactions/${id}/retry`, {
        method: 'POST',
        headers: { ...headers, ...authorization('operate') },
        body: '{}',
      });
      expect(response.status).toBe(415);
    }
    expect((await database.repository.findByTransactionId(id))?.status).toBe(TransactionStatus.FAILED);
    // Without a key the answer is the 401, whatever the content type: nothing to learn first.
    const anonymous = await requestJson(`${api.baseUrl}/v1/transactions/${id}/retry`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: '{}',
    });
    expect(anonymous.status).toBe(401);
  });

  it('refuses a body-less requeue even while keys are off (development)', async () => {
    const open = await serve(database.client, database.repository, { logger });
    try {
      const id = await failedRecord('boom');
      const response = await requestJson(`${open.baseUrl}/v1/transactions/${id}/retry`, { method: 'POST' });
      expect(response.status).toBe(415);
      expect((await database.repository.findByTransactionId(id))?.status).toBe(TransactionStatus.FAILED);
    } finally {
      await open.close();
    }
  });
});

async function failedRecord(
  error: string,
  options: { source?: string; failedAt?: Date } = {},
): Promise<string> {
  const doc = newTransactionDocument(
    transactionWebhookSchema.parse(sampleWebhook()),
    new Date(),
    options.source,
  );
  await database.repository.collection.insertOne({
    ...doc,
    status: TransactionStatus.FAILED,
    attempts: 5,
    last_error: error,
    failed_at: options.failedAt ?? new Date(),
  });
  return doc.transaction_id;
}

describe('requeue and redrive are audited', () => {
  const operate = { 'content-type': 'application/json', ...authorization('operate') };

  it('records who requeued one record, on the record and in one log line', async () => {
    const id = await failedRecord('card network down');
    const info = jest.spyOn(logger, 'info');
    try {
      const response = await requestJson<Record<string, unknown>>(
        `${api.baseUrl}/v1/transactions/${id}/retry`,
        { method: 'POST', headers: operate, body: '{}' },
      );
      expect(response.status).toBe(202);
      expect(response.body).toMatchObject({ status: 'PROCESSING', requeued_by: 'alice', last_error: null });
      expect(Date.parse(String(response.body.requeued_at))).toBeGreaterThan(Date.now() - 60_000);
      expect(info).toHaveBeenCalledWith('operator action', {
        action: 'requeue',
        operator: 'alice',
        transaction_id: id,
        outcome: 'requeued',
      });
    } finally {
      info.mockRestore();
    }
  });

  it('redrives FAILED records matching source, failure window and error prefix, at most limit, once', async () => {
    const early = new Date('2031-01-01T00:00:00Z');
    const inWindow = new Date('2031-01-02T00:00:00Z');
    const matching = [
      await failedRecord('timeout: upstream', { source: 'psp-a', failedAt: inWindow }),
      await failedRecord('timeout: again', {
        source: 'psp-a',
        failedAt: new Date(inWindow.getTime() + 1_000),
      }),
      await failedRecord('timeout: third', {
        source: 'psp-a',
        failedAt: new Date(inWindow.getTime() + 2_000),
      }),
    ];
    const others = [
      await failedRecord('timeout: other source', { source: 'psp-b', failedAt: inWindow }),
      await failedRecord('declined', { source: 'psp-a', failedAt: inWindow }),
      await failedRecord('timeout: too early', { source: 'psp-a', failedAt: early }),
      await failedRecord('Timeout: case differs', { source: 'psp-a', failedAt: inWindow }),
      await failedRecord('timeout.*regex', { source: 'psp-a', failedAt: inWindow }),
    ];
    const redrive = (body: object) =>
      requestJson<{ requeued: number }>(`${api.baseUrl}/v1/transactions/retry`, {
        method: 'POST',
        headers: operate,
        body: JSON.stringify(body),
      });
    const filter = {
      source: 'psp-a',
      failed_from: '2031-01-01T12:00:00Z',
      failed_to: '2031-01-03T00:00:00Z',
      last_error_prefix: 'timeout:',
    };
    const info = jest.spyOn(logger, 'info');
    try {
      const first = await redrive({ ...filter, limit: 2 });
      expect(first.status).toBe(200);
      expect(first.body).toEqual({ requeued: 2, limit: 2 });
      expect(info).toHaveBeenCalledWith('operator action', {
        action: 'redrive',
        operator: 'alice',
        filter,
        limit: 2,
        requeued: 2,
      });
    } finally {
      info.mockRestore();
    }
    // Oldest failures first; the third waits for the next call, which moves only it.
    const status = async (id: string) => (await database.repository.findByTransactionId(id))?.status;
    expect(await Promise.all(matching.map(status))).toEqual(['PROCESSING', 'PROCESSING', 'FAILED']);
    expect((await redrive({ ...filter, limit: 10 })).body).toEqual({ requeued: 1, limit: 10 });
    expect((await redrive({ ...filter, limit: 10 })).body).toEqual({ requeued: 0, limit: 10 });
    expect(await Promise.all(others.map(status))).toEqual(others.map(() => 'FAILED'));
    const moved = await database.repository.findByTransactionId(matching[0]!);
    expect(moved).toMatchObject({ requeued_by: 'alice', last_error: null, attempts: 0 });
  });

  it.each([
    ['no limit', {}],
    ['a limit over the maximum', { limit: 1_001 }],
    ['a zero limit', { limit: 0 }],
    ['an unknown field', { limit: 1, status: 'PROCESSED' }],
    ['an operator as prefix', { limit: 1, last_error_prefix: { $ne: null } }],
    [
      'a reversed window',
      { limit: 1, failed_from: '2031-01-02T00:00:00Z', failed_to: '2031-01-01T00:00:00Z' },
    ],
    ['a bad source name', { limit: 1, source: 'PSP A' }],
  ])('refuses a redrive with %s (400, nothing moved)', async (_name, body) => {
    const id = await failedRecord('x');
    const response = await requestJson(`${api.baseUrl}/v1/transactions/retry`, {
      method: 'POST',
      headers: operate,
      body: JSON.stringify(body),
    });
    expect(response.status).toBe(400);
    expectErrorShape(response.body, 'validation_failed');
    expect((await database.repository.findByTransactionId(id))?.status).toBe('FAILED');
  });
});

describe('probes', () => {
  it('are never rate limited, while other routes are', async () => {
    const limited = await serve(database.client, database.repository, { rateLimitPerMinute: 3 });
    try {
      for (let i = 0; i < 10; i++) {
        for (const path of ['/livez', '/readyz', '/']) {
          expect((await requestJson(`${limited.baseUrl}${path}`)).status).toBe(200);
        }
      }
      const statuses = [];
      for (let i = 0; i < 5; i++) statuses.push((await requestJson(`${limited.baseUrl}/v1/stats`)).status);
      expect(statuses).toContain(429);
    } finally {
      await limited.close();
    }
  });

  it('/readyz names the failed check without driver text, hosts or ports', async () => {
    const downClient = new MongoClient('mongodb://127.0.0.1:1', { serverSelectionTimeoutMS: 300 });
    const down = await serve(downClient, database.repository, { healthPingTimeoutMs: 500 });
    try {
      const response = await requestJson<{ status: string; checks: object }>(`${down.baseUrl}/readyz`);
      expect(response.status).toBe(503);
      expect(response.body.status).toBe('not_ready');
      expect(JSON.stringify(response.body)).not.toMatch(
        /127\.0\.0\.1|:1\b|ECONNREFUSED|Mongo|Server selection|timed out/i,
      );
    } finally {
      await down.close();
      await downClient.close();
    }
  });
});

describe('TRUST_PROXY', () => {
  it('buckets the rate limit per forwarded client only when the proxy is trusted', async () => {
    const hits = async (server: Served, clients: string[]) => {
      const statuses: number[] = [];
      for (const client of clients) {
        statuses.push(
          (
            await requestJson(`${server.baseUrl}/v1/transactions/none`, {
              headers: { 'x-forwarded-for': client },
            })
          ).status,
        );
      }
      return statuses;
    };
    const clients = ['203.0.113.1', '203.0.113.1', '203.0.113.2', '203.0.113.2', '203.0.113.3'];
    const trusted = await serve(database.client, database.repository, {
      rateLimitPerMinute: 2,
      trustProxy: 1,
    });
    const untrusted = await serve(database.client, database.repository, { rateLimitPerMinute: 2 });
    try {
      // Trusted: three clients, two requests each allowed.
      expect(await hits(trusted, clients)).toEqual([404, 404, 404, 404, 404]);
      // Not trusted: every request is 127.0.0.1's, one bucket.
      expect(await hits(untrusted, clients)).toEqual([404, 404, 429, 429, 429]);
    } finally {
      await trusted.close();
      await untrusted.close();
    }
  });
});
