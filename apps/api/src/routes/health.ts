import { Router } from 'express';
import { z } from 'zod';
import { pingDatabase } from '@txhook/shared';
import type { MongoClient } from 'mongodb';
import { methodNotAllowed } from '../http-errors';

/** What GET / answers, 200 or 503. */
export const healthSchema = z
  .object({
    status: z.enum(['HEALTHY', 'UNHEALTHY']),
    current_time: z.iso.datetime(),
  })
  .strict();

/** GET /: HEALTHY when the database answers a ping, 503 UNHEALTHY otherwise. */
export function healthRouter(deps: { client: MongoClient; pingTimeoutMs: number }): Router {
  const router = Router();
  router
    .route('/')
    .get(async (_req, res) => {
      let healthy = true;
      try {
        await pingDatabase(deps.client, deps.pingTimeoutMs);
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
  return router;
}
