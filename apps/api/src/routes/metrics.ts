import { Router } from 'express';
import type { Registry } from 'prom-client';
import { methodNotAllowed } from '../http-errors';

/** GET /metrics: Prometheus text format. */
export function metricsRouter(registry: Registry): Router {
  const router = Router();
  router
    .route('/metrics')
    .get(async (_req, res) => {
      const body = await registry.metrics();
      res.status(200).set('Content-Type', registry.contentType).set('Cache-Control', 'no-store').send(body);
    })
    .all(methodNotAllowed(['GET', 'HEAD']));
  return router;
}
