import { z } from 'zod';
import {
  SIGNATURE_HEADER,
  STANDARD_WEBHOOK_HEADERS,
  transactionIdSchema,
  transactionViewSchema,
  TransactionStatus,
  transactionWebhookSchema,
} from '@txhook/shared';
import { accessFor, type Access } from './access';
import { SOURCE_NAME } from './access-config';
import { errorBodySchema } from './http-errors';
import { redriveRequestSchema, redriveResponseSchema } from './routes/transactions';
import { healthSchema } from './routes/health';
import { LIST_DEFAULT_LIMIT, LIST_MAX_LIMIT } from './routes/transaction-list';

type JsonObject = Record<string, unknown>;

/**
 * JSON Schema (2020-12, the dialect of OpenAPI 3.1) of a zod schema. Requests are described as
 * they arrive (`input`: before transforms), responses as they leave (`output`). The one custom
 * type (lossless numbers) describes itself through `.meta`; a test checks nothing is left blank.
 */
function jsonSchemaOf(schema: z.ZodType, io: 'input' | 'output'): JsonObject {
  const json: JsonObject = z.toJSONSchema(schema, { io, unrepresentable: 'any' });
  delete json.$schema;
  return json;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schemaName: string) => ({ 'application/json': { schema: ref(schemaName) } });
const response = (description: string, schemaName: string, headers?: JsonObject) => ({
  description,
  content: json(schemaName),
  ...(headers ? { headers } : {}),
});
const retryAfter = { 'Retry-After': { $ref: '#/components/headers/RetryAfter' } };
const errorResponse = (description: string, headers?: JsonObject) => response(description, 'Error', headers);
const common = {
  '429': { $ref: '#/components/responses/RateLimited' },
};

const transactionIdParameter = () => ({
  name: 'transaction_id',
  in: 'path',
  required: true,
  schema: jsonSchemaOf(transactionIdSchema, 'input'),
});

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

/**
 * Adds each operation's security requirement (and its 401/403 answers) from the route table, so
 * the document cannot disagree with what the access guard enforces.
 */
function withSecurity(paths: Record<string, Record<string, JsonObject>>): Record<string, unknown> {
  for (const [path, operations] of Object.entries(paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      const access = accessFor(method.toUpperCase(), path.replace(/\{([^}]+)\}/g, ':$1'));
      operation.security = SECURITY[access];
      operation.responses = { ...(operation.responses as JsonObject), ...AUTH_RESPONSES[access] };
    }
  }
  return paths;
}

const sourceParameter = () => ({
  name: 'source',
  in: 'path',
  required: true,
  description: 'A sender named in WEBHOOK_SOURCES',
  schema: { type: 'string', pattern: SOURCE_NAME.source },
});

const receiveWebhook = (
  operationId: string,
  summary: string,
  parameters?: JsonObject[],
  extraResponses: JsonObject = {},
) => ({
  operationId,
  summary,
  ...(parameters ? { parameters } : {}),
  requestBody: { required: true, content: json('TransactionWebhook') },
  responses: {
    '200': response('Redelivery of a stored transaction: the stored record, nothing written', 'Transaction'),
    '202': response('New transaction, stored as PROCESSING', 'Transaction'),
    '400': errorResponse('invalid_json, validation_failed (with details) or bad_request'),
    '401': errorResponse(
      'unauthorized: missing, malformed, stale or wrong signature (X-Signature or Standard Webhooks), or a source without secrets',
    ),
    '409': errorResponse('conflict: same transaction_id with different content (or from another source)'),
    '413': errorResponse('payload_too_large: body over the limit (16 KB by default)'),
    '415': errorResponse('unsupported_media_type: Content-Type is not application/json'),
    ...extraResponses,
    ...common,
    '503': errorResponse('unavailable: the database does not answer; nothing was stored', retryAfter),
  },
});

/** The OpenAPI 3.1 description of the whole API, derived from the same zod schemas that validate. */
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
    paths: withSecurity({
      '/v1/webhooks/transactions': {
        post: receiveWebhook(
          'receiveTransactionWebhook',
          'Receive a transaction webhook: stored once, acknowledged at once (secrets: WEBHOOK_SECRET)',
        ),
      },
      '/v1/webhooks/{source}/transactions': {
        post: receiveWebhook(
          'receiveSourceTransactionWebhook',
          "Receive a webhook from a named sender, checked with that sender's secrets (WEBHOOK_SOURCES)",
          [sourceParameter()],
          { '404': errorResponse('not_found: not a valid source name') },
        ),
      },
      '/v1/transactions/retry': {
        post: {
          operationId: 'redriveFailedTransactions',
          summary: 'Redrive: requeue FAILED transactions matching a filter, at most `limit` (role operate)',
          requestBody: { required: true, content: json('RedriveRequest') },
          responses: {
            '200': response('How many FAILED records this call moved back to PROCESSING', 'RedriveResult'),
            '400': errorResponse('invalid_json or validation_failed (with details)'),
            '415': errorResponse('unsupported_media_type: operator POSTs must be application/json'),
            ...common,
            '503': errorResponse('unavailable: the database does not answer', retryAfter),
          },
        },
      },
      '/v1/transactions/{transaction_id}': {
        get: {
          operationId: 'getTransaction',
          summary: "A transaction's status",
          parameters: [transactionIdParameter()],
          responses: {
            '200': response('The transaction', 'Transaction'),
            '400': errorResponse('invalid_transaction_id (or bad_request for an unreadable path)'),
            '404': errorResponse('not_found'),
            ...common,
            '503': errorResponse('unavailable: the database does not answer', retryAfter),
          },
        },
      },
      '/v1/transactions/{transaction_id}/retry': {
        post: {
          operationId: 'retryFailedTransaction',
          summary:
            'Put a FAILED transaction back in line with a fresh attempt budget (idempotent; role operate)',
          parameters: [transactionIdParameter()],
          // `{}`: no fields; the JSON content type is what matters (a cross-site form cannot send it).
          requestBody: {
            required: true,
            content: { 'application/json': { schema: { type: 'object', additionalProperties: false } } },
          },
          responses: {
            '200': response('Not FAILED but still in line (PROCESSING): nothing changed', 'Transaction'),
            '202': response('Was FAILED: requeued as PROCESSING with attempts reset', 'Transaction'),
            '400': errorResponse(
              'invalid_transaction_id (or bad_request for an unreadable path), invalid_json, or validation_failed: the body is not {}',
            ),
            '404': errorResponse('not_found'),
            '409': errorResponse('already_processed: a PROCESSED transaction is final'),
            '415': errorResponse('unsupported_media_type: operator POSTs must be application/json'),
            ...common,
            '503': errorResponse('unavailable: the database does not answer', retryAfter),
          },
        },
      },
      '/': {
        get: {
          operationId: 'getHealth',
          summary: 'Health: HEALTHY when the database answers a ping within 2 s',
          responses: {
            '200': response('Healthy', 'Health'),
            ...common,
            '503': response('Unhealthy: the database does not answer', 'Health'),
          },
        },
      },
      '/livez': {
        get: {
          operationId: 'getLiveness',
          summary: 'Liveness probe: the process answers (no database involved)',
          responses: {
            '200': {
              description: 'Live',
              content: { 'application/json': { schema: { type: 'object', required: ['status'] } } },
            },
          },
        },
      },
      '/readyz': {
        get: {
          operationId: 'getReadiness',
          summary:
            'Readiness probe: 200 when the database answers and every index exists; 503 names the failed check (never driver text)',
          responses: {
            '200': {
              description: 'Ready',
              content: { 'application/json': { schema: { type: 'object', required: ['status', 'checks'] } } },
            },
            '503': {
              description: 'Not ready (database unreachable, indexes missing, or shutting down)',
              content: { 'application/json': { schema: { type: 'object', required: ['status'] } } },
            },
          },
        },
      },
      '/dashboard': {
        get: {
          operationId: 'getDashboard',
          summary: 'The operator dashboard page (holds no data; it asks for an operator key)',
          responses: {
            '200': { description: 'HTML page', content: { 'text/html': { schema: { type: 'string' } } } },
            ...common,
          },
        },
      },
      '/metrics': {
        get: {
          operationId: 'getMetrics',
          summary: 'Prometheus metrics (a read key or METRICS_TOKEN)',
          responses: {
            '200': {
              description: 'Prometheus text exposition format',
              content: { 'text/plain': { schema: { type: 'string' } } },
            },
            ...common,
            '503': errorResponse('unavailable: the database does not answer', retryAfter),
          },
        },
      },
      '/v1/stats': {
        get: {
          operationId: 'getStats',
          summary: 'Counts by status, backlog, processing lag percentiles and throughput (role read)',
          responses: {
            '200': {
              description: 'Statistics (see docs/OPERATIONS.md for each field)',
              content: { 'application/json': { schema: { type: 'object' } } },
            },
            ...common,
            '503': errorResponse('unavailable: the database does not answer in time', retryAfter),
          },
        },
      },
      '/v1/transactions': {
        get: {
          operationId: 'listTransactions',
          summary: 'Transactions, newest first, keyset-paginated (role read)',
          parameters: [
            {
              name: 'status',
              in: 'query',
              required: false,
              schema: { type: 'string', enum: Object.values(TransactionStatus) },
            },
            {
              name: 'limit',
              in: 'query',
              required: false,
              description: `1 to ${LIST_MAX_LIMIT} (default ${LIST_DEFAULT_LIMIT})`,
              schema: { type: 'string', pattern: '^[0-9]{1,4}$' },
            },
            {
              name: 'cursor',
              in: 'query',
              required: false,
              description: 'next_cursor of the previous page (opaque)',
              schema: { type: 'string' },
            },
          ],
          responses: {
            '200': response('One page of transactions', 'TransactionPage'),
            '400': errorResponse('invalid_query or invalid_cursor'),
            ...common,
            '503': errorResponse('unavailable: the database does not answer in time', retryAfter),
          },
        },
      },
      '/openapi.json': {
        get: {
          operationId: 'getOpenApiDocument',
          summary: 'This document',
          responses: {
            '200': {
              description: 'The OpenAPI 3.1 document',
              content: { 'application/json': { schema: { type: 'object' } } },
            },
            ...common,
          },
        },
      },
    }),
    components: {
      schemas: {
        TransactionWebhook: jsonSchemaOf(transactionWebhookSchema, 'input'),
        Transaction: jsonSchemaOf(transactionViewSchema, 'output'),
        Health: jsonSchemaOf(healthSchema, 'output'),
        Error: jsonSchemaOf(errorBodySchema, 'output'),
        RedriveRequest: jsonSchemaOf(redriveRequestSchema, 'input'),
        RedriveResult: jsonSchemaOf(redriveResponseSchema, 'output'),
        TransactionPage: {
          type: 'object',
          required: ['data', 'next_cursor'],
          properties: {
            data: { type: 'array', items: ref('Transaction') },
            next_cursor: { type: ['string', 'null'] },
          },
          additionalProperties: false,
        },
      },
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
