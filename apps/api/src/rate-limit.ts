import type { RequestHandler } from 'express';
import { rateLimit } from 'express-rate-limit';
import { ApiError, sendError } from './http-errors';

/**
 * At most `perMinute` requests per client IP per minute; past it 429 in the one error shape, with
 * Retry-After (set by the library) and the draft-8 RateLimit headers. Counters live in memory, so
 * each API instance limits on its own.
 */
export function rateLimitPerIp(perMinute: number): RequestHandler {
  return rateLimit({
    windowMs: 60_000,
    limit: perMinute,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    handler: (_req, res) =>
      sendError(res, new ApiError(429, 'rate_limited', 'Too many requests, retry later')),
  });
}
