import { Router, type RequestHandler } from 'express';
import {
  describeIssues,
  SOURCE_NAME,
  toTransactionView,
  transactionIdSchema,
  transactionWebhookSchema,
  type Logger,
  type TransactionStore,
} from '@txhook/shared';
import { ApiError, methodNotAllowed } from '../http-errors';
import { jsonBody, rawBody } from '../json-body';
import { requireSignature, sourceOf, type SignatureOptions } from '../signature';

import { setLogOutcome, setLogTransactionId } from '../request-context';

export const WEBHOOKS_PATH = '/v1/webhooks/transactions';
/** One path per sender with its own secrets (WEBHOOK_SOURCES); the record keeps the name. */
export const SOURCE_WEBHOOKS_PATH = '/v1/webhooks/:source/transactions';

/**
 * POST /v1/webhooks/transactions: (verify the signature,) validate, store once as PROCESSING,
 * answer 202. Never waits for the external call; the worker does that.
 */
export function webhooksRouter(deps: {
  repository: TransactionStore;
  logger: Logger;
  bodyLimitBytes: number;
  /** Undefined: signatures are not checked (development). */
  signature?: SignatureOptions | undefined;
}): Router {
  const router = Router();
  // Bytes first: the signature covers them exactly as sent, and nothing is parsed before it holds.
  const verify: RequestHandler[] = deps.signature ? [requireSignature(deps.signature, deps.logger)] : [];
  const knownSourceName: RequestHandler = (req, _res, next) => {
    next(SOURCE_NAME.test(sourceOf(req)) ? undefined : new ApiError(404, 'not_found', 'No such route'));
  };
  const receive: RequestHandler[] = [
    knownSourceName,
    rawBody(deps.bodyLimitBytes),
    ...verify,
    ...jsonBody(),
    async (req, res) => {
      logTransactionIdOf(req.body);
      const parsed = transactionWebhookSchema.safeParse(req.body);
      if (!parsed.success) {
        throw new ApiError(400, 'validation_failed', 'Request body is invalid', describeIssues(parsed.error));
      }
      const { outcome, record } = await deps.repository.recordWebhook(parsed.data, sourceOf(req));
      const transactionId = parsed.data.transaction_id;
      setLogOutcome(outcome);
      switch (outcome) {
        case 'created':
          res.status(202).json(toTransactionView(record));
          return;
        case 'duplicate':
          res.status(200).json(toTransactionView(record));
          return;
        case 'conflict':
          deps.logger.warn('conflicting webhook', { transaction_id: transactionId });
          throw new ApiError(
            409,
            'conflict',
            'A transaction with this transaction_id exists with different content',
          );
      }
    },
  ];
  router
    .route(WEBHOOKS_PATH)
    .post(...receive)
    .all(methodNotAllowed(['POST']));
  router
    .route(SOURCE_WEBHOOKS_PATH)
    .post(...receive)
    .all(methodNotAllowed(['POST']));
  return router;
}

/** Log lines name the transaction once the body holds a well-formed id, even if it is refused. */
function logTransactionIdOf(body: unknown): void {
  if (typeof body !== 'object' || body === null || !('transaction_id' in body)) return;
  const id = transactionIdSchema.safeParse(body.transaction_id);
  if (id.success) setLogTransactionId(id.data);
}
