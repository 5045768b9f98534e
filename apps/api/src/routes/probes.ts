import { Router } from 'express';
import type { MongoClient } from 'mongodb';
import { pingDatabase, withTimeout, type Logger, type TransactionStore } from '@txhook/shared';
import { methodNotAllowed } from '../http-errors';

interface CheckResult {
  ok: boolean;
  /** A fixed phrase, never the driver's message: that names hosts and ports (it goes to the log). */
  error?: string;
  missing?: string[];
}

/**
 * GET /livez: the process answers (no database involved, so a database outage never restarts it).
 * GET /readyz: 200 when the database answers and every required index exists, else 503 naming
 * the failed check, so a load balancer stops sending traffic this instance cannot store; 503
 * `draining` from SIGTERM on, so it stops sending before the listener closes. Both are public:
 * the body says which check failed, the reason (driver text) goes to the log only.
 */
export function probesRouter(deps: {
  client: MongoClient;
  repository: TransactionStore;
  timeoutMs: number;
  logger: Logger;
  /** True once the process is shutting down: not ready, whatever the database says. */
  isDraining?: () => boolean;
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
    .route('/livez')
    .get((_req, res) => {
      res.status(200).set('Cache-Control', 'no-store').json({ status: 'live' });
    })
    .all(methodNotAllowed(['GET', 'HEAD']));
  router.route('/readyz').get(async (_req, res) => {
    if (deps.isDraining?.()) {
      res.status(503).set('Cache-Control', 'no-store').json({ status: 'draining' });
      return;
    }
    const database = await check('database', () => pingDatabase(deps.client, deps.timeoutMs));
    const indexes: CheckResult = database.ok
      ? await check('indexes', async () => {
          const missing = await withTimeout(deps.repository.missingIndexes(), deps.timeoutMs, 'index check');
          if (missing.length > 0) return { ok: false, error: 'required indexes are missing', missing };
        })
      : { ok: false, error: 'not checked: database unreachable' };
    const ready = database.ok && indexes.ok;
    res
      .status(ready ? 200 : 503)
      .set('Cache-Control', 'no-store')
      .json({ status: ready ? 'ready' : 'not_ready', checks: { database, indexes } });
  });
  router.route('/readyz').all(methodNotAllowed(['GET', 'HEAD']));
  return router;
}
