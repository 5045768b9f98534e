import type { Request, RequestHandler } from 'express';
import {
  DEFAULT_SOURCE,
  STANDARD_WEBHOOK_HEADERS,
  verifySignature,
  verifyStandardWebhook,
  type SignatureCheck,
} from '@txhook/transactions';
import { type Logger } from '@txhook/platform';
import { ApiError } from './http-errors';
import { rawBodyOf } from './json-body';

export interface SignatureOptions {
  /** Secrets of the default source (WEBHOOK_SECRET; several while rotating). */
  secrets?: readonly string[] | undefined;
  /** Named senders and their secrets (WEBHOOK_SOURCES), reached at /v1/webhooks/<name>/transactions. */
  sources?: ReadonlyMap<string, readonly string[]> | undefined;
  toleranceSeconds: number;
}

/** The sender a webhook request names: its path's `:source`, or the default one. */
export function sourceOf(req: Request): string {
  const source = req.params.source;
  return typeof source === 'string' ? source : DEFAULT_SOURCE;
}

/**
 * Checks the webhook's signature over the raw body (run after rawBody, before any parsing) with
 * the secrets of the source it was posted to: Standard Webhooks headers when `webhook-signature`
 * is present, else X-Signature. Every failure gets the same 401, so a caller learns nothing about
 * why (not even whether the source exists); the reason goes to the log.
 */
export function requireSignature(options: SignatureOptions, logger: Logger): RequestHandler {
  return (req, _res, next) => {
    const source = sourceOf(req);
    const secrets = source === DEFAULT_SOURCE ? options.secrets : options.sources?.get(source);
    const check: SignatureCheck | { ok: false; reason: 'unknown_source' } =
      secrets === undefined || secrets.length === 0
        ? { ok: false, reason: 'unknown_source' }
        : checkHeaders(req, secrets, options.toleranceSeconds);
    if (!check.ok) {
      logger.warn('webhook signature refused', {
        reason: check.reason,
        source,
        scheme:
          req.headers[STANDARD_WEBHOOK_HEADERS.signature] !== undefined ? 'standard-webhooks' : 'x-signature',
        ip: req.ip,
      });
      next(new ApiError(401, 'unauthorized', 'Invalid signature'));
      return;
    }
    next();
  };
}

function checkHeaders(req: Request, secrets: readonly string[], toleranceSeconds: number): SignatureCheck {
  const body = rawBodyOf(req.body);
  if (req.headers[STANDARD_WEBHOOK_HEADERS.signature] !== undefined) {
    return verifyStandardWebhook({
      id: req.headers[STANDARD_WEBHOOK_HEADERS.id],
      timestamp: req.headers[STANDARD_WEBHOOK_HEADERS.timestamp],
      signature: req.headers[STANDARD_WEBHOOK_HEADERS.signature],
      body,
      secrets,
      toleranceSeconds,
    });
  }
  return verifySignature({ header: req.headers['x-signature'], body, secrets, toleranceSeconds });
}
