import { Router } from 'express';
import { pingDatabase } from '@txhook/shared';
import type { MongoClient } from 'mongodb';

/** GET /: HEALTHY when the database answers a ping, 503 UNHEALTHY otherwise. */
export function healthRouter(deps: { client: MongoClient; pingTimeoutMs: number }): Router {
  const router = Router();
  router.get('/', async (_req, res) => {
    let healthy = true;
    try {
      await pingDatabase(deps.client, deps.pingTimeoutMs);
    } catch {
      healthy = false;
    }
    res
      .status(healthy ? 200 : 503)
      .set('Cache-Control', 'no-store')
      .json({ status: healthy ? 'HEALTHY' : 'UNHEALTHY', current_time: new Date().toISOString() });
  });
  return router;
}
