import express, { type RequestHandler } from 'express';
import { parse as parseLossless } from 'lossless-json';
import { ApiError } from './http-errors';

/**
 * Reads a JSON body strictly: 415 unless the content type is JSON, 413 past `limitBytes`, 400 when
 * it does not parse. Numbers are kept as their exact decimal text (lossless-json), so an amount
 * such as 0.1 never passes through a binary float.
 */
export function jsonBody(limitBytes: number): RequestHandler[] {
  const requireJson: RequestHandler = (req, _res, next) => {
    if (!req.is('application/json')) {
      next(new ApiError(415, 'unsupported_media_type', 'Content-Type must be application/json'));
      return;
    }
    next();
  };
  const readRaw = express.raw({ type: () => true, limit: limitBytes });
  const parse: RequestHandler = (req, _res, next) => {
    const raw: unknown = req.body;
    if (!Buffer.isBuffer(raw) || raw.length === 0) {
      next(new ApiError(400, 'invalid_json', 'Request body must be a JSON object'));
      return;
    }
    try {
      req.body = parseLossless(raw.toString('utf8'));
    } catch {
      next(new ApiError(400, 'invalid_json', 'Request body is not valid JSON'));
      return;
    }
    next();
  };
  return [requireJson, readRaw, parse];
}
