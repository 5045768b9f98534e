import { Router } from 'express';
import type { TransactionQueries } from '@txhook/transactions';
import { cached } from '../cached';
import { methodNotAllowed } from '../http-errors';
import { inlineResponse, oneGetResource } from '../openapi-parts';
import type { ApiResource } from './route';

/** How long one /v1/stats answer is reused: dashboards poll every 2 s, many may be open. */
const STATS_TTL_MS = 1_000;

export const statsResource: ApiResource = oneGetResource({
  path: '/v1/stats',
  access: 'read',
  operationId: 'getStats',
  summary: 'Counts by status, backlog, processing lag percentiles and throughput (role read)',
  ok: inlineResponse('Statistics (see docs/OPERATIONS.md for each field)', 'application/json', {
    type: 'object',
  }),
  unavailableDescription: 'unavailable: the database does not answer in time',
});

/** GET /v1/stats: counts by status, backlog, processing lag percentiles and throughput. */
export function statsRouter(deps: { queries: TransactionQueries }): Router {
  const stats = cached(() => deps.queries.stats(), STATS_TTL_MS);
  const router = Router();
  router
    .route('/v1/stats')
    .get(async (_req, res) => {
      res
        .status(200)
        .set('Cache-Control', 'no-store')
        .json(await stats());
    })
    .all(methodNotAllowed(['GET', 'HEAD']));
  return router;
}
