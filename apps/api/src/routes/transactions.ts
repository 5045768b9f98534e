import { Router, type Request } from 'express';
import { stringify as stringifyLossless } from 'lossless-json';
import { z } from 'zod';
import {
  describeIssues,
  SOURCE_NAME,
  toTransactionView,
  transactionIdSchema,
  TransactionStatus,
  type Logger,
  type TransactionStore,
} from '@txhook/shared';
import { operatorOf } from '../access';
import { ApiError, methodNotAllowed } from '../http-errors';
import { jsonBody, rawBody } from '../json-body';
import { setLogTransactionId } from '../request-context';

export const TRANSACTION_PATH = '/v1/transactions/:transaction_id';
export const RETRY_PATH = '/v1/transactions/:transaction_id/retry';
export const REDRIVE_PATH = '/v1/transactions/retry';
export const REDRIVE_MAX_LIMIT = 1_000;
const REDRIVE_BODY_LIMIT_BYTES = 4_096;

/** POST /v1/transactions/retry: which FAILED records to requeue, and at most how many. */
export const redriveRequestSchema = z
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

export const redriveResponseSchema = z.strictObject({
  requeued: z.int().min(0).meta({ description: 'FAILED records moved back to PROCESSING by this call' }),
  limit: z.int(),
});

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
 * GET /v1/transactions/:transaction_id: the record's status, 404 when unknown.
 * POST /v1/transactions/:transaction_id/retry: puts a FAILED record back in line (idempotent).
 * POST /v1/transactions/retry: redrive, requeues FAILED records matching a filter, bounded.
 * Each operator action is written on the record (requeued_by/at) and as one `operator action` line.
 */
export function transactionsRouter(deps: { repository: TransactionStore; logger: Logger }): Router {
  const router = Router();
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
