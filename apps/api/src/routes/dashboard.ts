import { Router } from 'express';
import { DASHBOARD_CSP, DASHBOARD_HTML } from '../dashboard/page';
import { methodNotAllowed } from '../http-errors';
import { common, inlineResponse } from '../openapi-parts';
import type { ApiResource } from './route';

export const dashboardResource: ApiResource = {
  routes: [
    {
      method: 'GET',
      path: '/dashboard',
      access: 'public',
      operation: {
        operationId: 'getDashboard',
        summary: 'The operator dashboard page (holds no data; it asks for an operator key)',
        responses: {
          '200': inlineResponse('HTML page', 'text/html', { type: 'string' }),
          ...common,
        },
      },
    },
  ],
};

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
