import { Router } from 'express';
import { toTransactionView, transactionIdSchema, type TransactionRepository } from '@txhook/shared';
import { ApiError, methodNotAllowed } from '../http-errors';

export const TRANSACTION_PATH = '/v1/transactions/:transaction_id';

/** GET /v1/transactions/:transaction_id: the record's status, 404 when unknown. */
export function transactionsRouter(deps: { repository: TransactionRepository }): Router {
  const router = Router();
  router
    .route(TRANSACTION_PATH)
    .get(async (req, res) => {
      // Validated before the query: only a plain string of safe characters ever reaches it.
      const id = transactionIdSchema.safeParse(req.params.transaction_id);
      if (!id.success) {
        throw new ApiError(400, 'invalid_transaction_id', 'transaction_id is not valid', [
          { field: 'transaction_id', message: id.error.issues[0]?.message ?? 'invalid' },
        ]);
      }
      const record = await deps.repository.findByTransactionId(id.data);
      if (!record) throw new ApiError(404, 'not_found', 'Transaction not found');
      res.status(200).json(toTransactionView(record));
    })
    .all(methodNotAllowed(['GET', 'HEAD']));
  return router;
}
