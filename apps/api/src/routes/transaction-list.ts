import { Router } from 'express';
import { z } from 'zod';
import { toTransactionView, TransactionStatus, type TransactionQueries } from '@txhook/shared';
import { decodeCursor, encodeCursor } from '../cursor';
import { ApiError, methodNotAllowed } from '../http-errors';

export const LIST_DEFAULT_LIMIT = 50;
export const LIST_MAX_LIMIT = 200;

const listQuerySchema = z.object({
  status: z.enum(Object.values(TransactionStatus)).optional(),
  limit: z
    .string()
    .regex(/^[0-9]{1,4}$/, { error: 'must be a whole number' })
    .transform(Number)
    .pipe(z.number().min(1).max(LIST_MAX_LIMIT))
    .optional(),
  cursor: z.string().optional(),
});

/**
 * GET /v1/transactions?status=&limit=&cursor=: newest first, keyset-paginated. `next_cursor` is
 * opaque; passing it back continues after the last record shown, with no gaps or repeats even
 * while new records arrive (they sort before the cursor).
 */
export function transactionListRouter(deps: { queries: TransactionQueries }): Router {
  const router = Router();
  router
    .route('/v1/transactions')
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
  return router;
}
