import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Router } from 'express';
import { Registry } from 'prom-client';
import { TransactionQueries } from '@txhook/transactions';
import {
  openTestDatabase,
  parseMetrics,
  postWebhook,
  sample,
  sampleWebhook,
  type TestDatabase,
} from '@txhook/test-kit';
import { errorHandler } from '../src/http-errors';
import { buildOpenApiDocument } from '../src/openapi';
import * as routes from '../src/routes';
import { dashboardResource } from '../src/routes/dashboard';
import { healthResource } from '../src/routes/health';
import { metricsResource } from '../src/routes/metrics';
import { openApiResource } from '../src/routes/openapi';
import type { ApiResource } from '../src/routes/route';
import { statsResource } from '../src/routes/stats';
import { transactionsResource } from '../src/routes/transactions';
import { webhooksResource } from '../src/routes/webhooks';
import { quietLogger, servedRoutes } from './serve';

let database: TestDatabase;
beforeAll(async () => {
  database = await openTestDatabase('routes');
});
afterAll(async () => {
  await database.drop();
});

async function listen(app: express.Express): Promise<{ baseUrl: string; close(): Promise<void> }> {
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe('the webhooks router', () => {
  it('counts and times its own deliveries, mounted on its own', async () => {
    const registry = new Registry();
    const deps = { repository: database.repository, logger: quietLogger, bodyLimitBytes: 16_384, registry };
    const app = express();
    app.use(routes.webhooksRouter(deps));
    app.use(errorHandler(quietLogger));
    const served = await listen(app);
    try {
      expect((await postWebhook(served.baseUrl, sampleWebhook())).status).toBe(202);
      expect((await postWebhook(served.baseUrl, { amount: 'x' })).status).toBe(400);
      const samples = parseMetrics(await registry.metrics());
      expect(sample(samples, 'txhook_webhooks_received_total', { outcome: 'accepted' })).toBe(1);
      expect(sample(samples, 'txhook_webhooks_received_total', { outcome: 'invalid' })).toBe(1);
      expect(sample(samples, 'txhook_webhook_ack_duration_seconds_count', { outcome: 'accepted' })).toBe(1);
    } finally {
      await served.close();
    }
  });
});

describe('each resource', () => {
  const deps = () => ({
    client: database.client,
    repository: database.repository,
    queries: new TransactionQueries(database.client.db(database.repository.collection.dbName)),
    logger: quietLogger,
    timeoutMs: 1_000,
    bodyLimitBytes: 16_384,
    registry: new Registry(),
  });
  const resources: [string, ApiResource, () => Router][] = [
    ['health', healthResource, () => routes.healthRouter(deps())],
    ['openapi', openApiResource, () => routes.openApiRouter({})],
    ['dashboard', dashboardResource, () => routes.dashboardRouter()],
    ['webhooks', webhooksResource, () => routes.webhooksRouter(deps())],
    ['metrics', metricsResource, () => routes.metricsRouter(deps())],
    ['stats', statsResource, () => routes.statsRouter(deps())],
    ['transactions', transactionsResource, () => routes.transactionsRouter(deps())],
  ];

  it('is in the catalogue the app, the access guard and the OpenAPI document are built from', () => {
    expect(routes.API_RESOURCES).toEqual(resources.map(([, resource]) => resource));
  });

  it.each(resources)('%s: its router serves exactly the routes it declares', (_name, resource, router) => {
    const served = servedRoutes(router()).map((route) => `${route.method} ${route.path}`);
    const declared = resource.routes.map((route) => `${route.method} ${route.path}`);
    expect(served).toEqual(declared);
  });

  it.each(resources)('%s: every operation it declares is documented under its path', (_name, resource) => {
    const document = buildOpenApiDocument() as { paths: Record<string, Record<string, unknown>> };
    for (const route of resource.routes) {
      const path = route.path.replace(/:(\w+)/g, '{$1}');
      expect(document.paths[path]?.[route.method.toLowerCase()]).toMatchObject(route.operation);
    }
  });
});
