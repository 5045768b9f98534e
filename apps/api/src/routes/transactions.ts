import { Router, type Request } from 'express';
import {
  toTransactionView,
  transactionIdSchema,
  TransactionStatus,
  type TransactionRepository,
} from '@txhook/shared';
import { ApiError, methodNotAllowed } from '../http-errors';
import { setLogTransactionId } from '../request-context';

export const TRANSACTION_PATH = '/v1/transactions/:transaction_id';
export const RETRY_PATH = '/v1/transactions/:transaction_id/retry';

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
 */
export function transactionsRouter(deps: { repository: TransactionRepository }): Router {
  const router = Router();
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
    .post(async (req, res) => {
      const id = transactionIdOf(req);
      const requeued = await deps.repository.requeueFailed(id, 'anonymous');
      const record = await deps.repository.findByTransactionId(id);
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
