import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import { isTransientDatabaseError, type Logger } from '@txhook/shared';

/** The one error shape of every non-2xx answer: `{ "error": { code, message, details? } }`. */
export interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
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

export function notFoundHandler(): RequestHandler {
  return (_req, res) => sendError(res, new ApiError(404, 'not_found', 'No such route'));
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
    const clientError = fromBodyParser(error);
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
