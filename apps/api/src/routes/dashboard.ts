import { Router } from 'express';
import { DASHBOARD_CSP, DASHBOARD_HTML } from '../dashboard/page';
import { methodNotAllowed } from '../http-errors';

/** GET /dashboard: the operator page (polls /v1/stats and /v1/transactions from the browser). */
export function dashboardRouter(): Router {
  const router = Router();
  router
    .route('/dashboard')
    .get((_req, res) => {
      res
        .status(200)
        .set({
          'Content-Type': 'text/html; charset=utf-8',
          'Content-Security-Policy': DASHBOARD_CSP,
          'X-Content-Type-Options': 'nosniff',
          'Referrer-Policy': 'no-referrer',
          'Cache-Control': 'no-store',
        })
        .send(DASHBOARD_HTML);
    })
    .all(methodNotAllowed(['GET', 'HEAD']));
  return router;
}
