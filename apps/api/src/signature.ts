import type { RequestHandler } from 'express';
import { verifySignature, type Logger } from '@txhook/shared';
import { ApiError } from './http-errors';
import { rawBodyOf } from './json-body';

export interface SignatureOptions {
  /** Accepted secrets (several while rotating). */
  secrets: readonly string[];
  toleranceSeconds: number;
}

/**
 * Checks X-Signature over the raw body (run after rawBody, before any parsing). Every failure
 * gets the same 401, so a caller learns nothing about why; the reason goes to the log.
 */
export function requireSignature(options: SignatureOptions, logger: Logger): RequestHandler {
  return (req, _res, next) => {
    const check = verifySignature({
      header: req.headers['x-signature'],
      body: rawBodyOf(req.body),
      secrets: options.secrets,
      toleranceSeconds: options.toleranceSeconds,
    });
    if (!check.ok) {
      logger.warn('webhook signature refused', { reason: check.reason, ip: req.ip });
      next(new ApiError(401, 'unauthorized', 'Invalid signature'));
      return;
    }
    next();
  };
}
