import { Router, type Request } from 'express';
import { stringify as stringifyLossless } from 'lossless-json';
import { z } from 'zod';
import {
  describeIssues,
  toTransactionView,
  transactionIdSchema,
  TransactionStatus,
  type TransactionQueries,
  type TransactionStore,
} from '@txhook/transactions';
import { type Logger } from '@txhook/platform';
import { SOURCE_NAME } from '../access-config';
import { decodeCursor, encodeCursor } from '../cursor';
import { ApiError, methodNotAllowed } from '../http-errors';
import { jsonBody, rawBody } from '../json-body';
import { common, errorResponse, json, jsonSchemaOf, ref, response, unavailable } from '../openapi-parts';
import { operatorOf } from '../operator-auth';
import { setLogTransactionId } from '../request-context';
import type { ApiResource } from './route';

export const LIST_PATH = '/v1/transactions';
export const TRANSACTION_PATH = '/v1/transactions/:transaction_id';
export const RETRY_PATH = '/v1/transactions/:transaction_id/retry';
export const REDRIVE_PATH = '/v1/transactions/retry';
export const REDRIVE_MAX_LIMIT = 1_000;
const REDRIVE_BODY_LIMIT_BYTES = 4_096;

/** How both operator POSTs refuse a body before reading it (rawBody + jsonBody, in the routes below). */
const operatorBodyRefusals = {
  '413': errorResponse(`payload_too_large: body over ${REDRIVE_BODY_LIMIT_BYTES} bytes`),
  '415': errorResponse('unsupported_media_type: operator POSTs must be application/json'),
};

const LIST_DEFAULT_LIMIT = 50;
const LIST_MAX_LIMIT = 200;

/** One message for every bad limit: too many digits, a sign or a fraction are out of range too. */
const LIST_LIMIT_ERROR = `must be a whole number from 1 to ${LIST_MAX_LIMIT}`;

const listQuerySchema = z.object({
  status: z.enum(Object.values(TransactionStatus)).optional(),
  limit: z
    .string()
    .regex(/^[0-9]{1,4}$/, { error: LIST_LIMIT_ERROR })
    .transform(Number)
    .pipe(z.number().min(1, { error: LIST_LIMIT_ERROR }).max(LIST_MAX_LIMIT, { error: LIST_LIMIT_ERROR }))
    .optional(),
  cursor: z.string().optional(),
});

/** POST /v1/transactions/retry: which FAILED records to requeue, and at most how many. */
const redriveRequestSchema = z
  .strictObject({
    source: z.string().regex(SOURCE_NAME).optional().meta({ description: 'Only records from this source' }),
    failed_from: z.iso.datetime().optional().meta({ description: 'failed_at at or after this time' }),
    failed_to: z.iso.datetime().optional().meta({ description: 'failed_at before this time' }),
    last_error_prefix: z
      .string()
      .min(1)
      .max(200)
      .optional()
      .meta({ description: 'last_error starts with this text (literal, not a pattern)' }),
    limit: z.int().min(1).max(REDRIVE_MAX_LIMIT).meta({ description: 'Most records to requeue' }),
  })
  .refine((body) => !body.failed_from || !body.failed_to || body.failed_from < body.failed_to, {
    error: 'failed_from must be before failed_to',
    path: ['failed_to'],
  });

const emptyBodySchema = z.strictObject({});

const redriveResponseSchema = z.strictObject({
  requeued: z.int().min(0).meta({ description: 'FAILED records moved back to PROCESSING by this call' }),
  limit: z.int(),
});

const transactionIdParameter = () => ({
  name: 'transaction_id',
  in: 'path',
  required: true,
  schema: jsonSchemaOf(transactionIdSchema, 'input'),
});

export const transactionsResource: ApiResource = {
  routes: [
    {
      method: 'GET',
      path: LIST_PATH,
      access: 'read',
      operation: {
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
          ...unavailable('unavailable: the database does not answer in time'),
        },
      },
    },
    {
      method: 'POST',
      path: REDRIVE_PATH,
      access: 'operate',
      operation: {
        operationId: 'redriveFailedTransactions',
        summary: 'Redrive: requeue FAILED transactions matching a filter, at most `limit` (role operate)',
        requestBody: { required: true, content: json('RedriveRequest') },
        responses: {
          '200': response('How many FAILED records this call moved back to PROCESSING', 'RedriveResult'),
          '400': errorResponse('invalid_json or validation_failed (with details)'),
          ...operatorBodyRefusals,
          ...common,
          ...unavailable(),
        },
      },
    },
    {
      method: 'GET',
      path: TRANSACTION_PATH,
      access: 'status',
      operation: {
        operationId: 'getTransaction',
        summary: "A transaction's status",
        parameters: [transactionIdParameter()],
        responses: {
          '200': response('The transaction', 'Transaction'),
          '400': errorResponse('invalid_transaction_id (or bad_request for an unreadable path)'),
          '404': errorResponse('not_found'),
          ...common,
          ...unavailable(),
        },
      },
    },
    {
      method: 'POST',
      path: RETRY_PATH,
      access: 'operate',
      operation: {
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
          ...operatorBodyRefusals,
          ...common,
          ...unavailable(),
        },
      },
    },
  ],
  schemas: {
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
};

/** Validated before any query: only a plain string of safe characters ever reaches one. */
function transactionIdOf(req: Request): string {
  const id = transactionIdSchema.safeParse(req.params.transaction_id);
  if (!id.success) {
    throw new ApiError(400, 'invalid_transaction_id', 'transaction_id is not valid', [
      { field: 'transaction_id', message: id.error.issues[0]?.message ?? 'invalid' },
    ]);
  }
  setLogTransactionId(id.data);
  return id.data;
}

/**
 * GET /v1/transactions?status=&limit=&cursor=: newest first, keyset-paginated. `next_cursor` is
 * opaque; passing it back continues after the last record shown, with no gaps or repeats even
 * while new records arrive (they sort before the cursor).
 * GET /v1/transactions/:transaction_id: the record's status, 404 when unknown.
 * POST /v1/transactions/:transaction_id/retry: puts a FAILED record back in line (idempotent).
 * POST /v1/transactions/retry: redrive, requeues FAILED records matching a filter, bounded.
 * Each operator action is written on the record (requeued_by/at) and as one `operator action` line.
 */
export function transactionsRouter(deps: {
  repository: TransactionStore;
  queries: TransactionQueries;
  logger: Logger;
}): Router {
  const router = Router();
  router
    .route(LIST_PATH)
    .get(async (req, res) => {
      const parsed = listQuerySchema.safeParse(req.query);
      if (!parsed.success) {
        throw new ApiError(
          400,
          'invalid_query',
          'Query parameters are invalid',
          parsed.error.issues.map((issue) => ({ field: issue.path.join('.'), message: issue.message })),
        );
      }
      const { status, limit = LIST_DEFAULT_LIMIT, cursor } = parsed.data;
      const after = cursor === undefined ? undefined : decodeCursor(cursor);
      if (cursor !== undefined && !after) {
        throw new ApiError(400, 'invalid_cursor', 'cursor is not one this API returned', [
          { field: 'cursor', message: 'invalid' },
        ]);
      }
      const page = await deps.queries.listPage({ status, limit, after });
      res
        .status(200)
        .set('Cache-Control', 'no-store')
        .json({
          data: page.records.map(toTransactionView),
          next_cursor: page.next ? encodeCursor(page.next) : null,
        });
    })
    .all(methodNotAllowed(['GET', 'HEAD']));

  // Before /:transaction_id, whose 405 handler would otherwise answer POSTs to this path.
  router
    .route(REDRIVE_PATH)
    .post(rawBody(REDRIVE_BODY_LIMIT_BYTES), ...jsonBody(), async (req, res) => {
      // lossless-json keeps numbers as exact text; limit is a small integer, plain JSON is fine here.
      const parsed = redriveRequestSchema.safeParse(JSON.parse(stringifyLossless(req.body) ?? 'null'));
      if (!parsed.success) {
        throw new ApiError(400, 'validation_failed', 'Request body is invalid', describeIssues(parsed.error));
      }
      const { limit, ...filter } = parsed.data;
      const operator = operatorOf(res);
      const requeued = await deps.repository.requeueFailedMatching(
        {
          source: filter.source,
          failedFrom: filter.failed_from ? new Date(filter.failed_from) : undefined,
          failedTo: filter.failed_to ? new Date(filter.failed_to) : undefined,
          lastErrorPrefix: filter.last_error_prefix,
        },
        limit,
        operator.name,
      );
      deps.logger.info('operator action', {
        action: 'redrive',
        operator: operator.name,
        filter,
        limit,
        requeued,
      });
      res.status(200).json({ requeued, limit } satisfies z.infer<typeof redriveResponseSchema>);
    })
    .all(methodNotAllowed(['POST']));

  router
    .route(TRANSACTION_PATH)
    .get(async (req, res) => {
      const record = await deps.repository.findByTransactionId(transactionIdOf(req));
      if (!record) throw new ApiError(404, 'not_found', 'Transaction not found');
      res.status(200).json(toTransactionView(record));
    })
    .all(methodNotAllowed(['GET', 'HEAD']));

  router
    .route(RETRY_PATH)
    .post(rawBody(REDRIVE_BODY_LIMIT_BYTES), ...jsonBody(), async (req, res) => {
      // No fields: `{}` only, so a mistaken redrive body is refused rather than read as a requeue.
      if (!emptyBodySchema.safeParse(req.body).success) {
        throw new ApiError(400, 'validation_failed', 'Request body must be {}');
      }
      const id = transactionIdOf(req);
      const operator = operatorOf(res);
      const requeued = await deps.repository.requeueFailed(id, operator.name);
      const record = await deps.repository.findByTransactionId(id);
      deps.logger.info('operator action', {
        action: 'requeue',
        operator: operator.name,
        transaction_id: id,
        outcome: requeued ? 'requeued' : record ? `unchanged (${record.status})` : 'not_found',
      });
      if (!record) throw new ApiError(404, 'not_found', 'Transaction not found');
      if (requeued) {
        res.status(202).json(toTransactionView(record));
        return;
      }
      // Not FAILED (any more): already in line is fine, already processed is final.
      if (record.status === TransactionStatus.PROCESSED) {
        throw new ApiError(409, 'already_processed', 'Transaction is already PROCESSED');
      }
      res.status(200).json(toTransactionView(record));
    })
    .all(methodNotAllowed(['POST']));
  return router;
}
