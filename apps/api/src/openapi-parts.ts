import { z } from 'zod';
import type { Access, ApiResource, JsonObject } from './routes/route';

/** The pieces each resource writes its OpenAPI operations with (openapi.ts assembles them). */

/**
 * JSON Schema (2020-12, the dialect of OpenAPI 3.1) of a zod schema. Requests are described as
 * they arrive (`input`: before transforms), responses as they leave (`output`). The one custom
 * type (lossless numbers) describes itself through `.meta`; a test checks nothing is left blank.
 */
export function jsonSchemaOf(schema: z.ZodType, io: 'input' | 'output'): JsonObject {
  const json: JsonObject = z.toJSONSchema(schema, { io, unrepresentable: 'any' });
  delete json.$schema;
  return json;
}

export const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
export const json = (schemaName: string) => ({ 'application/json': { schema: ref(schemaName) } });
export const response = (description: string, schemaName: string, headers?: JsonObject) => ({
  description,
  content: json(schemaName),
  ...(headers ? { headers } : {}),
});
/** An answer whose body is described in place rather than by a named schema. */
export const inlineResponse = (description: string, mediaType: string, schema: JsonObject) => ({
  description,
  content: { [mediaType]: { schema } },
});
export const retryAfter = { 'Retry-After': { $ref: '#/components/headers/RetryAfter' } };
export const errorResponse = (description: string, headers?: JsonObject) =>
  response(description, 'Error', headers);
/** Answers any route may give: 429 when a rate limit is configured. */
export const common = {
  '429': { $ref: '#/components/responses/RateLimited' },
};
/** 503 with Retry-After: the database did not answer (in time). */
export const unavailable = (description = 'unavailable: the database does not answer') => ({
  '503': errorResponse(description, retryAfter),
});

/**
 * A resource of one GET route (stats, metrics): its 200 answer described in place, plus the
 * answers every such route has (429, and 503 when the database does not answer).
 */
export function oneGetResource(route: {
  path: string;
  access: Access;
  operationId: string;
  summary: string;
  ok: JsonObject;
  unavailableDescription?: string;
}): ApiResource {
  const { path, access, operationId, summary, ok, unavailableDescription } = route;
  return {
    routes: [
      {
        method: 'GET',
        path,
        access,
        operation: {
          operationId,
          summary,
          responses: { '200': ok, ...common, ...unavailable(unavailableDescription) },
        },
      },
    ],
  };
}
