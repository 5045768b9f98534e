import express, { type Express } from 'express';
import helmet from 'helmet';
import type { MongoClient } from 'mongodb';
import type { Logger, TransactionRepository } from '@txhook/shared';
import { errorHandler, notFoundHandler } from './http-errors';
import { rateLimitPerIp } from './rate-limit';
import { healthRouter } from './routes/health';
import { openApiRouter } from './routes/openapi';
import { transactionsRouter } from './routes/transactions';
import { webhooksRouter } from './routes/webhooks';
import type { SignatureOptions } from './signature';

export interface AppDependencies {
  client: MongoClient;
  repository: TransactionRepository;
  logger: Logger;
  bodyLimitBytes: number;
  healthPingTimeoutMs?: number;
  /** Webhook signature check; undefined turns it off (development only). */
  signature?: SignatureOptions | undefined;
  /** Requests per minute per client IP; undefined = no limit. */
  rateLimitPerMinute?: number | undefined;
}

/** Builds the Express app from its collaborators; no I/O happens here. */
export function createApp(deps: AppDependencies): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  // Security headers on every answer, errors included (nosniff, HSTS, frame-ancestors, no referrer...).
  app.use(helmet());
  if (deps.rateLimitPerMinute !== undefined) app.use(rateLimitPerIp(deps.rateLimitPerMinute));
  app.use(healthRouter({ client: deps.client, pingTimeoutMs: deps.healthPingTimeoutMs ?? 2_000 }));
  app.use(openApiRouter());
  app.use(webhooksRouter(deps));
  app.use(transactionsRouter(deps));
  app.use(notFoundHandler());
  app.use(errorHandler(deps.logger));
  return app;
}
