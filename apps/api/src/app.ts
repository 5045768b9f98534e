import express, { type Express } from 'express';
import type { MongoClient } from 'mongodb';
import type { Logger, TransactionRepository } from '@txhook/shared';
import { errorHandler, notFoundHandler } from './http-errors';
import { healthRouter } from './routes/health';
import { transactionsRouter } from './routes/transactions';
import { webhooksRouter } from './routes/webhooks';

export interface AppDependencies {
  client: MongoClient;
  repository: TransactionRepository;
  logger: Logger;
  bodyLimitBytes: number;
  healthPingTimeoutMs?: number;
}

/** Builds the Express app from its collaborators; no I/O happens here. */
export function createApp(deps: AppDependencies): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(healthRouter({ client: deps.client, pingTimeoutMs: deps.healthPingTimeoutMs ?? 2_000 }));
  app.use(webhooksRouter(deps));
  app.use(transactionsRouter(deps));
  app.use(notFoundHandler());
  app.use(errorHandler(deps.logger));
  return app;
}
