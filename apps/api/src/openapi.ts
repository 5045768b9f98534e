import { SIGNATURE_HEADER, STANDARD_WEBHOOK_HEADERS, transactionViewSchema } from '@txhook/transactions';
import { errorBodySchema } from './http-errors';
import { errorResponse, jsonSchemaOf, retryAfter } from './openapi-parts';
import { API_RESOURCES } from './routes';
import type { Access, ApiResource, JsonObject } from './routes/route';

/** Each access rule as OpenAPI security requirements (alternatives; `{}` = anonymous allowed). */
const SECURITY: Record<Access, JsonObject[]> = {
  public: [],
  // Development without WEBHOOK_SECRET accepts unsigned webhooks: hence the anonymous `{}`.
  signature: [{ webhookSignature: [] }, { standardWebhooks: [] }, {}],
  status: [{}, { operatorKey: [] }],
  read: [{ operatorKey: [] }],
  operate: [{ operatorKey: [] }],
  metrics: [{ operatorKey: [] }, { metricsToken: [] }],
};
const AUTH_RESPONSES: Partial<Record<Access, JsonObject>> = {
  read: {
    '401': errorResponse('unauthorized: no, malformed or unknown bearer key (when OPERATOR_KEYS is set)'),
    '403': errorResponse('forbidden: the key lacks the role'),
  },
  operate: {
    '401': errorResponse('unauthorized: no, malformed or unknown bearer key (when OPERATOR_KEYS is set)'),
    '403': errorResponse('forbidden: the key has role read, this needs operate'),
  },
};

/** Schemas more than one resource names. */
const SHARED_SCHEMAS: Record<string, JsonObject> = {
  Transaction: jsonSchemaOf(transactionViewSchema, 'output'),
  Error: jsonSchemaOf(errorBodySchema, 'output'),
};

/**
 * Each route's operation under its OpenAPI path, with the security requirement (and 401/403
 * answers) of its access rule, so the document cannot disagree with what the access guard enforces.
 */
function pathsOf(resources: readonly ApiResource[]): Record<string, Record<string, JsonObject>> {
  const paths: Record<string, Record<string, JsonObject>> = {};
  for (const { method, path, access, operation } of resources.flatMap((resource) => resource.routes)) {
    const documented = path.replace(/:(\w+)/g, '{$1}');
    paths[documented] = {
      ...paths[documented],
      [method.toLowerCase()]: {
        ...operation,
        security: SECURITY[access],
        responses: { ...(operation.responses as JsonObject), ...AUTH_RESPONSES[access] },
      },
    };
  }
  return paths;
}

/** Every resource's schemas; one name must mean one schema. */
function schemasOf(resources: readonly ApiResource[]): Record<string, JsonObject> {
  const schemas = { ...SHARED_SCHEMAS };
  for (const [name, schema] of resources.flatMap((resource) => Object.entries(resource.schemas ?? {}))) {
    if (name in schemas) throw new Error(`OpenAPI schema ${name} is declared twice`);
    schemas[name] = schema;
  }
  return schemas;
}

/**
 * The OpenAPI 3.1 description of the whole API, assembled from each resource's operations and
 * schemas (derived from the same zod schemas that validate).
 */
export function buildOpenApiDocument(): JsonObject {
  return {
    openapi: '3.1.0',
    info: {
      title: 'txhook',
      version: '1.0.0',
      description:
        'Transaction webhook service. Every error has one shape (`Error`). Any other method on a ' +
        'documented path answers 405 with an `Allow` header (`components.responses.MethodNotAllowed`); ' +
        'OPTIONS answers 204 with `Allow`. 429 only when a rate limit is configured.',
    },
    paths: pathsOf(API_RESOURCES),
    components: {
      schemas: schemasOf(API_RESOURCES),
      responses: {
        RateLimited: errorResponse('rate_limited: too many requests from this address', retryAfter),
        MethodNotAllowed: errorResponse('method_not_allowed: the path exists, the method does not', {
          Allow: { description: 'The methods the path supports', schema: { type: 'string' }, required: true },
        }),
      },
      headers: {
        RetryAfter: {
          description: 'Seconds to wait before retrying',
          schema: { type: 'string', pattern: '^[0-9]+$' },
          required: true,
        },
      },
      securitySchemes: {
        webhookSignature: {
          type: 'apiKey',
          in: 'header',
          name: SIGNATURE_HEADER,
          description:
            '`t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">` (several v1 entries allowed). ' +
            'Checked when the server has WEBHOOK_SECRET (required in production); timestamps more than ' +
            'WEBHOOK_TOLERANCE_SECONDS (300) from now are refused.',
        },
        standardWebhooks: {
          type: 'apiKey',
          in: 'header',
          name: STANDARD_WEBHOOK_HEADERS.signature,
          description:
            'Standard Webhooks: `webhook-id`, `webhook-timestamp` and `webhook-signature: v1,<base64 ' +
            'HMAC-SHA256 of "<id>.<timestamp>.<raw body>">` (space-separated entries while rotating); ' +
            'secret `whsec_<base64>`. Same tolerance as X-Signature.',
        },
        operatorKey: {
          type: 'http',
          scheme: 'bearer',
          description:
            'An operator key (`pnpm keygen`): role `read` (list, stats, status, metrics) or `operate` ' +
            '(read + requeue/redrive). Enforced when the server has OPERATOR_KEYS (required in production).',
        },
        metricsToken: {
          type: 'http',
          scheme: 'bearer',
          description: 'METRICS_TOKEN: GET /metrics only (for Prometheus).',
        },
      },
    },
  };
}
