import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import { z } from 'zod';
import { isTransientDatabaseError, type Logger } from '@txhook/platform';
import { type FieldProblem } from '@txhook/transactions';

/** The one error shape of every non-2xx answer: `{ "error": { code, message, details? } }`. */
export const errorBodySchema = z
  .object({
    error: z
      .object({
        code: z.string().meta({ examples: ['validation_failed'] }),
        message: z.string(),
        details: z
          .array(z.object({ field: z.string(), message: z.string() }).strict())
          .optional()
          .meta({ description: 'Field-level problems, when there are any' }),
      })
      .strict(),
  })
  .strict();

export type ErrorBody = z.infer<typeof errorBodySchema>;

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: FieldProblem[],
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export function sendError(res: Response, error: ApiError): void {
  const body: ErrorBody = { error: { code: error.code, message: error.message } };
  if (error.details !== undefined) body.error.details = error.details;
  res.status(error.status).set(error.headers).json(body);
}

/** Errors thrown by body-parser carry `type` and `status`; map the ones clients can cause. */
function fromBodyParser(error: unknown): ApiError | undefined {
  if (typeof error !== 'object' || error === null || !('type' in error)) return undefined;
  switch (error.type) {
    case 'entity.too.large':
      return new ApiError(413, 'payload_too_large', 'Request body is larger than allowed');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new ApiError(415, 'unsupported_encoding', 'Request body encoding is not supported');
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
      return new ApiError(400, 'bad_request', 'Request body could not be read');
    default:
      return undefined;
  }
}

/**
 * Other errors Express marks as the client's (e.g. a malformed %-escape in the path, which the
 * router reports with status 400): a generic 4xx without the original message.
 */
function fromClientStatus(error: unknown): ApiError | undefined {
  if (typeof error !== 'object' || error === null || !('status' in error)) return undefined;
  const status = error.status;
  if (typeof status !== 'number' || status < 400 || status > 499) return undefined;
  return new ApiError(400, 'bad_request', 'Request could not be read');
}

export function notFoundHandler(): RequestHandler {
  return (_req, res) => sendError(res, new ApiError(404, 'not_found', 'No such route'));
}

/**
 * For the other methods of a known route: 405 with `Allow`. OPTIONS is answered (204 + Allow),
 * as HTTP expects of a server that knows the resource.
 */
export function methodNotAllowed(allowed: readonly string[]): RequestHandler {
  const allow = [...allowed, 'OPTIONS'].join(', ');
  return (req, res) => {
    if (req.method === 'OPTIONS') {
      res.status(204).set('Allow', allow).end();
      return;
    }
    sendError(
      res,
      new ApiError(405, 'method_not_allowed', 'Method not allowed', undefined, { Allow: allow }),
    );
  };
}

/** Last middleware: answers every error in the one shape and never leaks internals. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, next) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    if (error instanceof ApiError) {
      sendError(res, error);
      return;
    }
    const clientError = fromBodyParser(error) ?? fromClientStatus(error);
    if (clientError) {
      sendError(res, clientError);
      return;
    }
    if (isTransientDatabaseError(error)) {
      logger.warn('database unavailable', { method: req.method, path: req.path, error: String(error) });
      sendError(
        res,
        new ApiError(503, 'unavailable', 'Service temporarily unavailable, retry later', undefined, {
          'Retry-After': '5',
        }),
      );
      return;
    }
    logger.error('unhandled error', {
      method: req.method,
      path: req.path,
      error: error instanceof Error ? error.stack : String(error),
    });
    sendError(res, new ApiError(500, 'internal_error', 'Internal server error'));
  };
}
