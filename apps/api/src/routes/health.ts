import { Router } from 'express';
import type { MongoClient } from 'mongodb';
import { z } from 'zod';
import { pingDatabase, withTimeout, type Logger } from '@txhook/platform';
import { type TransactionStore } from '@txhook/transactions';
import { methodNotAllowed } from '../http-errors';
import { common, inlineResponse, jsonSchemaOf, response } from '../openapi-parts';
import type { ApiResource } from './route';

/** What GET / answers, 200 or 503. */
export const healthSchema = z
  .object({
    status: z.enum(['HEALTHY', 'UNHEALTHY']),
    current_time: z.iso.datetime(),
  })
  .strict();

interface CheckResult {
  ok: boolean;
  /** A fixed phrase, never the driver's message: that names hosts and ports (it goes to the log). */
  error?: string;
  missing?: string[];
}

export const healthResource: ApiResource = {
  routes: [
    {
      method: 'GET',
      path: '/',
      access: 'public',
      operation: {
        operationId: 'getHealth',
        summary: 'Health: HEALTHY when the database answers a ping within 2 s',
        responses: {
          '200': response('Healthy', 'Health'),
          ...common,
          '503': response('Unhealthy: the database does not answer', 'Health'),
        },
      },
    },
    {
      method: 'GET',
      path: '/livez',
      access: 'public',
      operation: {
        operationId: 'getLiveness',
        summary: 'Liveness probe: the process answers (no database involved)',
        responses: {
          '200': inlineResponse('Live', 'application/json', { type: 'object', required: ['status'] }),
        },
      },
    },
    {
      method: 'GET',
      path: '/readyz',
      access: 'public',
      operation: {
        operationId: 'getReadiness',
        summary:
          'Readiness probe: 200 when the database answers and every index exists; 503 names the failed check (never driver text)',
        responses: {
          '200': inlineResponse('Ready', 'application/json', {
            type: 'object',
            required: ['status', 'checks'],
          }),
          '503': inlineResponse(
            'Not ready (database unreachable, indexes missing, or shutting down)',
            'application/json',
            { type: 'object', required: ['status'] },
          ),
        },
      },
    },
  ],
  schemas: { Health: jsonSchemaOf(healthSchema, 'output') },
};

/**
 * Health and the orchestrator's probes; all public, mounted before the rate limiter.
 * GET /: HEALTHY when the database answers a ping, 503 UNHEALTHY otherwise.
 * GET /livez: the process answers (no database involved, so a database outage never restarts it).
 * GET /readyz: 200 when the database answers and every required index exists, else 503 naming
 * the failed check, so a load balancer stops sending traffic this instance cannot store; 503
 * `draining` from SIGTERM on, so it stops sending before the listener closes. The body says which
 * check failed, the reason (driver text) goes to the log only.
 */
export function healthRouter(deps: {
  client: MongoClient;
  repository: TransactionStore;
  /** Bound on each database check. */
  timeoutMs: number;
  logger: Logger;
  /** True once the process is shutting down: not ready, whatever the database says. */
  isDraining?: (() => boolean) | undefined;
}): Router {
  const check = async (name: string, run: () => Promise<CheckResult | void>): Promise<CheckResult> => {
    try {
      return (await run()) ?? { ok: true };
    } catch (error) {
      deps.logger.warn('readiness check failed', { check: name, error: String(error) });
      return { ok: false, error: name === 'database' ? 'database unreachable' : 'check failed' };
    }
  };
  const router = Router();
  router
    .route('/')
    .get(async (_req, res) => {
      let healthy = true;
      try {
        await pingDatabase(deps.client, deps.timeoutMs);
      } catch {
        healthy = false;
      }
      const body: z.infer<typeof healthSchema> = {
        status: healthy ? 'HEALTHY' : 'UNHEALTHY',
        current_time: new Date().toISOString(),
      };
      res
        .status(healthy ? 200 : 503)
        .set('Cache-Control', 'no-store')
        .json(body);
    })
    .all(methodNotAllowed(['GET', 'HEAD']));
  router
    .route('/livez')
    .get((_req, res) => {
      res.status(200).set('Cache-Control', 'no-store').json({ status: 'live' });
    })
    .all(methodNotAllowed(['GET', 'HEAD']));
  router
    .route('/readyz')
    .get(async (_req, res) => {
      if (deps.isDraining?.()) {
        res.status(503).set('Cache-Control', 'no-store').json({ status: 'draining' });
        return;
      }
      const database = await check('database', () => pingDatabase(deps.client, deps.timeoutMs));
      const indexes: CheckResult = database.ok
        ? await check('indexes', async () => {
            const missing = await withTimeout(
              deps.repository.missingIndexes(),
              deps.timeoutMs,
              'index check',
            );
            if (missing.length > 0) return { ok: false, error: 'required indexes are missing', missing };
          })
        : { ok: false, error: 'not checked: database unreachable' };
      const ready = database.ok && indexes.ok;
      res
        .status(ready ? 200 : 503)
        .set('Cache-Control', 'no-store')
        .json({ status: ready ? 'ready' : 'not_ready', checks: { database, indexes } });
    })
    .all(methodNotAllowed(['GET', 'HEAD']));
  return router;
}
