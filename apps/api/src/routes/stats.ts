import { Router } from 'express';
import type { TransactionStats } from '@txhook/shared';

/** GET /v1/stats: counts by status, backlog, processing lag percentiles and throughput. */
export function statsRouter(deps: { stats: () => Promise<TransactionStats> }): Router {
  const router = Router();
  router.get('/v1/stats', async (_req, res) => {
    res
      .status(200)
      .set('Cache-Control', 'no-store')
      .json(await deps.stats());
  });
  return router;
}
