import type { Server } from 'node:http';
import type { Express, Router } from 'express';
import type { AddressInfo } from 'node:net';
import type { MongoClient } from 'mongodb';
import { createLogger, type Logger } from '@txhook/platform';
import { type TransactionStore } from '@txhook/transactions';
import { createApp, type AppDependencies } from '../src/app';

export const quietLogger: Logger = createLogger('api-test', {
  LOG_LEVEL: 'error',
  LOG_FORMAT: 'json',
  NODE_ENV: 'test',
});

export interface Served {
  server: Server;
  baseUrl: string;
  close(): Promise<void>;
}

/** The real app on a free 127.0.0.1 port, over real HTTP, with its real database. */
export async function serve(
  client: MongoClient,
  repository: TransactionStore,
  options: Partial<AppDependencies> = {},
): Promise<Served> {
  const app = createApp({
    client,
    repository,
    logger: quietLogger,
    bodyLimitBytes: 16_384,
    healthPingTimeoutMs: 1_000,
    ...options,
  });
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return {
    server,
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Every error: the one JSON shape, and nothing that looks like a stack trace or internals. */
export function expectErrorShape(body: unknown, code: string): void {
  expect(body).toEqual({ error: expect.objectContaining({ code, message: expect.any(String) }) });
  expect(JSON.stringify(body)).not.toMatch(/\bat .+\.(ts|js):\d+|stack|node_modules|Mongo|Error:/);
}

/** Every route an Express app or router serves, as METHOD + path, read from its router stack. */
export function servedRoutes(app: Express | Router): { method: string; path: string }[] {
  const found: { method: string; path: string }[] = [];
  const walk = (stack: Router['stack']) => {
    for (const layer of stack) {
      if (layer.route) {
        const methods = Object.keys((layer.route as unknown as { methods: object }).methods);
        const paths = ([] as unknown[]).concat(layer.route.path).map(String);
        for (const method of methods) {
          if (method === '_all') continue;
          for (const path of paths) found.push({ method: method.toUpperCase(), path });
        }
      } else {
        const nested = (layer.handle as unknown as { stack?: Router['stack'] }).stack;
        if (nested) walk(nested);
      }
    }
  };
  walk(((app as unknown as { router?: Router }).router ?? (app as Router)).stack);
  return found;
}
