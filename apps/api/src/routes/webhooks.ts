import { Router, type RequestHandler } from 'express';
import { Counter, Histogram, type Registry } from 'prom-client';
import {
  describeIssues,
  toTransactionView,
  transactionIdSchema,
  transactionWebhookSchema,
  type TransactionStore,
} from '@txhook/transactions';
import { type Logger } from '@txhook/platform';
import { SOURCE_NAME } from '../access-config';
import { ApiError, methodNotAllowed } from '../http-errors';
import { jsonBody, rawBody } from '../json-body';
import { common, errorResponse, json, jsonSchemaOf, response, unavailable } from '../openapi-parts';
import { setLogOutcome, setLogTransactionId } from '../request-context';
import { requireSignature, sourceOf, type SignatureOptions } from '../signature';
import type { ApiResource, JsonObject } from './route';

export const WEBHOOKS_PATH = '/v1/webhooks/transactions';
/** One path per sender with its own secrets (WEBHOOK_SOURCES); the record keeps the name. */
export const SOURCE_WEBHOOKS_PATH = '/v1/webhooks/:source/transactions';

/**
 * How a webhook delivery ended, as a label value. `unauthorized` is for signature checks (401/403):
 * they are counted from the status code, so whatever answers them needs no metrics code.
 */
const WEBHOOK_OUTCOMES = [
  'accepted',
  'duplicate',
  'conflict',
  'invalid',
  'unauthorized',
  'unavailable',
  'error',
] as const;
type WebhookOutcome = (typeof WEBHOOK_OUTCOMES)[number];

/** The outcome of a webhook POST from its response status. */
function webhookOutcomeOf(status: number): WebhookOutcome {
  if (status === 202) return 'accepted';
  if (status === 200) return 'duplicate';
  if (status === 409) return 'conflict';
  if (status === 401 || status === 403) return 'unauthorized';
  if (status === 503) return 'unavailable';
  if (status >= 400 && status < 500) return 'invalid';
  return 'error';
}

/** Counts each webhook delivery by outcome and times it until its answer is sent. */
function observeWebhooks(registry: Registry): RequestHandler {
  const received = new Counter({
    name: 'txhook_webhooks_received_total',
    help: 'Webhook deliveries answered, by outcome',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const ackDuration = new Histogram({
    name: 'txhook_webhook_ack_duration_seconds',
    help: 'Time from a webhook request arriving to its answer being sent, by outcome',
    labelNames: ['outcome'],
    // The contract is < 500 ms; the buckets are fine below it.
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  // Every outcome exists from the start, so rate() and alerts see 0 instead of no series.
  for (const outcome of WEBHOOK_OUTCOMES) received.inc({ outcome }, 0);
  return (_req, res, next) => {
    const started = performance.now();
    res.once('finish', () => {
      const outcome = webhookOutcomeOf(res.statusCode);
      received.inc({ outcome });
      ackDuration.observe({ outcome }, (performance.now() - started) / 1000);
    });
    next();
  };
}

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
    ...unavailable('unavailable: the database does not answer; nothing was stored'),
  },
});

export const webhooksResource: ApiResource = {
  routes: [
    {
      method: 'POST',
      path: WEBHOOKS_PATH,
      access: 'signature',
      operation: receiveWebhook(
        'receiveTransactionWebhook',
        'Receive a transaction webhook: stored once, acknowledged at once (secrets: WEBHOOK_SECRET)',
      ),
    },
    {
      method: 'POST',
      path: SOURCE_WEBHOOKS_PATH,
      access: 'signature',
      operation: receiveWebhook(
        'receiveSourceTransactionWebhook',
        "Receive a webhook from a named sender, checked with that sender's secrets (WEBHOOK_SOURCES)",
        [
          {
            name: 'source',
            in: 'path',
            required: true,
            description: 'A sender named in WEBHOOK_SOURCES',
            schema: { type: 'string', pattern: SOURCE_NAME.source },
          },
        ],
        { '404': errorResponse('not_found: not a valid source name') },
      ),
    },
  ],
  schemas: { TransactionWebhook: jsonSchemaOf(transactionWebhookSchema, 'input') },
};

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
  /** Where its delivery counter and ack-time histogram are registered. */
  registry: Registry;
}): Router {
  const router = Router();
  // Bytes first: the signature covers them exactly as sent, and nothing is parsed before it holds.
  const verify: RequestHandler[] = deps.signature ? [requireSignature(deps.signature, deps.logger)] : [];
  const knownSourceName: RequestHandler = (req, _res, next) => {
    next(SOURCE_NAME.test(sourceOf(req)) ? undefined : new ApiError(404, 'not_found', 'No such route'));
  };
  const receive: RequestHandler[] = [
    observeWebhooks(deps.registry),
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
      // The composition root bounds the store's calls (withCallDeadlines): past the bound this is
      // a 503, and if the write lands after all, the sender's retry finds it (200): stored once.
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
