import { Router } from 'express';
import { methodNotAllowed } from '../http-errors';
import { buildOpenApiDocument } from '../openapi';

/** GET /openapi.json: the contract, generated from the zod schemas once at start-up. */
export function openApiRouter(): Router {
  const document = buildOpenApiDocument();
  const router = Router();
  router
    .route('/openapi.json')
    .get((_req, res) => {
      res.status(200).json(document);
    })
    .all(methodNotAllowed(['GET', 'HEAD']));
  return router;
}
