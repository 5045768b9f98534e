import { Router } from 'express';
import type { TransactionStats } from '@txhook/shared';
import { methodNotAllowed } from '../http-errors';

/** GET /v1/stats: counts by status, backlog, processing lag percentiles and throughput. */
export function statsRouter(deps: { stats: () => Promise<TransactionStats> }): Router {
  const router = Router();
  router
    .route('/v1/stats')
    .get(async (_req, res) => {
      res
        .status(200)
        .set('Cache-Control', 'no-store')
        .json(await deps.stats());
    })
    .all(methodNotAllowed(['GET', 'HEAD']));
  return router;
}
