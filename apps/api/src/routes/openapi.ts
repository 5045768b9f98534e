import { Router } from 'express';
import { methodNotAllowed } from '../http-errors';
import { common, inlineResponse } from '../openapi-parts';
import type { ApiResource, JsonObject } from './route';

export const openApiResource: ApiResource = {
  routes: [
    {
      method: 'GET',
      path: '/openapi.json',
      access: 'public',
      operation: {
        operationId: 'getOpenApiDocument',
        summary: 'This document',
        responses: {
          '200': inlineResponse('The OpenAPI 3.1 document', 'application/json', { type: 'object' }),
          ...common,
        },
      },
    },
  ],
};

/** GET /openapi.json: the contract, assembled once at start-up (buildOpenApiDocument). */
export function openApiRouter(document: JsonObject): Router {
  const router = Router();
  router
    .route('/openapi.json')
    .get((_req, res) => {
      res.status(200).json(document);
    })
    .all(methodNotAllowed(['GET', 'HEAD']));
  return router;
}
