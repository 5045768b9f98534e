import express, { type Express } from 'express';
import helmet from 'helmet';
import type { MongoClient } from 'mongodb';
import { Registry } from 'prom-client';
import { TransactionQueries, type TransactionStore } from '@txhook/transactions';
import { type Logger } from '@txhook/platform';
import { accessGuard } from './access';
import { errorHandler, notFoundHandler } from './http-errors';
import { buildOpenApiDocument } from './openapi';
import { OperatorAuth } from './operator-auth';
import { rateLimitPerIp } from './rate-limit';
import { requestContext } from './request-context';
import {
  dashboardRouter,
  healthRouter,
  metricsRouter,
  openApiRouter,
  statsRouter,
  transactionsRouter,
  webhooksRouter,
} from './routes';
import type { SignatureOptions } from './signature';

export interface AppDependencies {
  client: MongoClient;
  repository: TransactionStore;
  logger: Logger;
  bodyLimitBytes: number;
  healthPingTimeoutMs?: number;
  /** Webhook signature check; undefined turns it off (development only). */
  signature?: SignatureOptions | undefined;
  /** Requests per minute per client IP; undefined = no limit. */
  rateLimitPerMinute?: number | undefined;
  /** Read queries for operators; built on the repository's database when omitted. */
  queries?: TransactionQueries;
  /** Where the metrics are registered (the composition root owns it); a fresh one when omitted. */
  registry?: Registry;
  /** Operator keys and the metrics token; omitted = no keys, operator routes open (development). */
  auth?: OperatorAuth;
  /** STATUS_REQUIRES_KEY: GET /v1/transactions/:id needs a read key. */
  statusRequiresKey?: boolean;
  /** Express `trust proxy` (TRUST_PROXY): which X-Forwarded-For hops decide the client address. */
  trustProxy?: number | string[] | undefined;
  /** True once the process is shutting down (GET /readyz then fails); see Drain. */
  isDraining?: () => boolean;
}

/** Builds the Express app from its collaborators and mounts one router per resource; no I/O happens here. */
export function createApp(deps: AppDependencies): Express {
  const queries = deps.queries ?? new TransactionQueries(deps.client.db(deps.repository.collection.dbName));
  const registry = deps.registry ?? new Registry();
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  // Unset: req.ip is the peer address; behind a proxy, the client as the trusted hops report it.
  app.set('trust proxy', deps.trustProxy ?? false);
  app.use(requestContext(deps.logger));
  // Security headers on every answer, errors included (nosniff, HSTS, frame-ancestors, no referrer...).
  app.use(helmet());
  // Probes first: an orchestrator's checks are never rate limited and never need a key.
  app.use(
    healthRouter({
      client: deps.client,
      repository: deps.repository,
      timeoutMs: deps.healthPingTimeoutMs ?? 2_000,
      logger: deps.logger,
      isDraining: deps.isDraining,
    }),
  );
  if (deps.rateLimitPerMinute !== undefined) app.use(rateLimitPerIp(deps.rateLimitPerMinute));
  app.use(
    accessGuard({
      auth: deps.auth ?? new OperatorAuth(undefined),
      statusRequiresKey: deps.statusRequiresKey ?? false,
      logger: deps.logger,
    }),
  );
  app.use(openApiRouter(buildOpenApiDocument()));
  app.use(metricsRouter({ registry, queries, logger: deps.logger }));
  app.use(dashboardRouter());
  app.use(statsRouter({ queries }));
  app.use(webhooksRouter({ ...deps, registry }));
  app.use(transactionsRouter({ ...deps, queries }));
  app.use(notFoundHandler());
  app.use(errorHandler(deps.logger));
  return app;
}
