import { request as httpRequest } from 'node:http';
import { transactionViewSchema } from '@txhook/transactions';
import {
  getJson,
  openTestDatabase,
  postWebhook,
  requestJson,
  sampleWebhook,
  type TestDatabase,
} from '@txhook/test-kit';
import { errorBodySchema } from '../src/http-errors';
import { ROUTE_RULES } from '../src/access';
import { buildOpenApiDocument } from '../src/openapi';
import { healthSchema } from '../src/routes/health';
import { serve, type Served } from './serve';

type Doc = {
  openapi: string;
  paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
  components: { schemas: Record<string, unknown>; responses: Record<string, unknown> };
};

let database: TestDatabase;
let served: Served;

beforeAll(async () => {
  database = await openTestDatabase('openapi');
  served = await serve(database.client, database.repository);
});
afterAll(async () => {
  await served.close();
  await database.drop();
});

function traceRequest(url: string): Promise<{ status: number | undefined; allow: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'TRACE' }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode, allow: String(res.headers.allow ?? '') }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Every sub-schema of a JSON Schema, with where it is. */
function* walk(value: unknown, at = '#'): Generator<[string, unknown]> {
  yield [at, value];
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) yield* walk(item, `${at}/${i}`);
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) yield* walk(item, `${at}/${key}`);
  }
}

describe('GET /openapi.json', () => {
  it('serves the OpenAPI 3.1 document built from the zod schemas', async () => {
    const response = await getJson<Doc>(`${served.baseUrl}/openapi.json`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(response.body).toEqual(buildOpenApiDocument());
    expect(response.body.openapi).toBe('3.1.0');
  });

  it('covers every endpoint and every status code the API answers', () => {
    const doc = buildOpenApiDocument() as Doc;
    expect(Object.keys(doc.paths).sort()).toEqual([
      '/',
      '/dashboard',
      '/livez',
      '/metrics',
      '/openapi.json',
      '/readyz',
      '/v1/stats',
      '/v1/transactions',
      '/v1/transactions/retry',
      '/v1/transactions/{transaction_id}',
      '/v1/transactions/{transaction_id}/retry',
      '/v1/webhooks/transactions',
      '/v1/webhooks/{source}/transactions',
    ]);
    const codes = new Set(
      Object.values(doc.paths).flatMap((path) =>
        Object.values(path).flatMap((op) => Object.keys(op.responses)),
      ),
    );
    expect([...codes].sort()).toEqual([
      '200',
      '202',
      '400',
      '401',
      '403',
      '404',
      '409',
      '413',
      '415',
      '429',
      '503',
    ]);
    expect(doc.components.responses).toHaveProperty('MethodNotAllowed'); // 405: any other method
    expect(JSON.stringify(doc)).not.toContain('"500"');
  });

  it('documents 413 on every POST: each reads its body through a size limit', () => {
    const doc = buildOpenApiDocument() as Doc;
    const posts = Object.entries(doc.paths).flatMap(([path, operations]) =>
      operations.post ? [[path, Object.keys(operations.post.responses)] as const] : [],
    );
    expect(posts.length).toBeGreaterThanOrEqual(4);
    for (const [path, codes] of posts)
      expect({ path, has413: codes.includes('413') }).toEqual({ path, has413: true });
  });

  it('documents every route in the route table (which a test holds equal to the routes the app serves)', () => {
    const doc = buildOpenApiDocument() as Doc;
    const documented = Object.entries(doc.paths).flatMap(([path, operations]) =>
      Object.keys(operations).map(
        (method) => `${method.toUpperCase()} ${path.replace(/\{([^}]+)\}/g, ':$1')}`,
      ),
    );
    expect(documented.sort()).toEqual(ROUTE_RULES.map((rule) => `${rule.method} ${rule.path}`).sort());
  });

  it('answers 405 with Allow to a method a documented path does not have (schemathesis ST204)', async () => {
    const doc = buildOpenApiDocument() as Doc;
    for (const [path, operations] of Object.entries(doc.paths)) {
      const url = served.baseUrl + path.replace('{transaction_id}', 'tx-405').replace('{source}', 'psp');
      const response = await traceRequest(url); // fetch refuses TRACE; schemathesis sends it
      expect([path, response.status]).toEqual([path, 405]);
      const allow = response.allow;
      for (const method of Object.keys(operations)) expect(allow).toContain(method.toUpperCase());
    }
  });

  it('leaves no part of the request schema blank (the lossless number describes itself)', () => {
    const doc = buildOpenApiDocument() as Doc;
    for (const [where, schema] of walk(doc.components.schemas)) {
      if (
        typeof schema === 'object' &&
        schema !== null &&
        !Array.isArray(schema) &&
        !where.endsWith('/examples')
      ) {
        expect([where, Object.keys(schema).length]).not.toEqual([where, 0]);
      }
    }
    expect(doc.components.schemas.TransactionWebhook).toMatchObject({
      required: ['transaction_id', 'source_account', 'destination_account', 'amount', 'currency'],
      properties: {
        amount: { anyOf: [{ type: 'string' }, { type: 'number', exclusiveMinimum: 0 }] },
        currency: { type: 'string', enum: expect.arrayContaining(['USD', 'EUR', 'JPY', 'BHD']) },
      },
    });
    expect(doc.components.schemas.TransactionWebhook).not.toHaveProperty('additionalProperties');
  });
});

describe('security requirements', () => {
  it("declare each documented operation's rule from the route table", () => {
    const doc = buildOpenApiDocument() as Doc & {
      paths: Record<string, Record<string, { security: object[] }>>;
      components: { securitySchemes: Record<string, unknown> };
    };
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual([
      'metricsToken',
      'operatorKey',
      'standardWebhooks',
      'webhookSignature',
    ]);
    const security = (path: string, method: string) => doc.paths[path]![method]!.security;
    expect(security('/', 'get')).toEqual([]);
    expect(security('/v1/webhooks/transactions', 'post')).toEqual([
      { webhookSignature: [] },
      { standardWebhooks: [] },
      {},
    ]);
    expect(security('/v1/transactions/{transaction_id}', 'get')).toEqual([{}, { operatorKey: [] }]);
    expect(security('/v1/transactions/retry', 'post')).toEqual([{ operatorKey: [] }]);
    expect(security('/v1/transactions/{transaction_id}/retry', 'post')).toEqual([{ operatorKey: [] }]);
    expect(doc.paths['/v1/transactions/retry']!.post!.responses).toHaveProperty('403');
  });
});

describe('responses match the published schemas', () => {
  it('transaction views, health and errors parse with the strict zod response schemas', async () => {
    const body = sampleWebhook();
    const created = await postWebhook(served.baseUrl, body);
    const again = await postWebhook(served.baseUrl, body);
    const fetched = await getJson(`${served.baseUrl}/v1/transactions/${body.transaction_id}`);
    for (const response of [created, again, fetched]) transactionViewSchema.parse(response.body);
    healthSchema.parse((await getJson(`${served.baseUrl}/`)).body);
    const errors = await Promise.all([
      postWebhook(served.baseUrl, { ...body, currency: 'usd' }),
      postWebhook(served.baseUrl, { ...body, amount: '1' }),
      postWebhook(served.baseUrl, '{', { 'content-type': 'application/json' }),
      postWebhook(served.baseUrl, 'x', { 'content-type': 'text/plain' }),
      getJson(`${served.baseUrl}/v1/transactions/nope`),
      getJson(`${served.baseUrl}/v1/transactions/a.b`),
      requestJson(`${served.baseUrl}/`, { method: 'DELETE' }),
    ]);
    expect(errors.map((r) => r.status)).toEqual([400, 409, 400, 415, 404, 400, 405]);
    for (const response of errors) errorBodySchema.parse(response.body);
  });
});
