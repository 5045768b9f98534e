import express, { type RequestHandler } from 'express';
import { parse as parseLossless } from 'lossless-json';
import { ApiError } from './http-errors';

/**
 * Deepest nesting accepted. A webhook is flat; unknown fields may nest a little. The recursive
 * parser would overflow its stack somewhere past a few thousand levels, so refuse long before.
 */
export const MAX_JSON_DEPTH = 32;

/** Reads the body as raw bytes (any content type), 413 past `limitBytes`. */
export function rawBody(limitBytes: number): RequestHandler {
  return express.raw({ type: () => true, limit: limitBytes });
}

/** The raw body read by rawBody (empty when there was none). */
export function rawBodyOf(body: unknown): Buffer {
  return Buffer.isBuffer(body) ? body : Buffer.alloc(0);
}

/** True when brackets nest deeper than `maxDepth` outside strings; one pass, no recursion. */
export function nestsDeeperThan(text: string, maxDepth: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const char = text.charCodeAt(i);
    if (inString) {
      if (char === 0x5c /* \ */) i++;
      else if (char === 0x22 /* " */) inString = false;
    } else if (char === 0x22) {
      inString = true;
    } else if (char === 0x7b /* { */ || char === 0x5b /* [ */) {
      if (++depth > maxDepth) return true;
    } else if (char === 0x7d /* } */ || char === 0x5d /* ] */) {
      depth--;
    }
  }
  return false;
}

/**
 * Parses the raw body as JSON strictly: 415 unless the content type is JSON, 400 when it is empty,
 * nests too deep or does not parse. Numbers are kept as their exact decimal text (lossless-json),
 * so an amount such as 0.1 never passes through a binary float.
 */
export function jsonBody(): RequestHandler[] {
  const requireJson: RequestHandler = (req, _res, next) => {
    if (!req.is('application/json')) {
      next(new ApiError(415, 'unsupported_media_type', 'Content-Type must be application/json'));
      return;
    }
    next();
  };
  const parse: RequestHandler = (req, _res, next) => {
    const raw = rawBodyOf(req.body);
    if (raw.length === 0) {
      next(new ApiError(400, 'invalid_json', 'Request body must be a JSON object'));
      return;
    }
    const text = raw.toString('utf8');
    if (nestsDeeperThan(text, MAX_JSON_DEPTH)) {
      next(new ApiError(400, 'invalid_json', `Request body nests deeper than ${MAX_JSON_DEPTH} levels`));
      return;
    }
    try {
      req.body = parseLossless(text);
    } catch {
      next(new ApiError(400, 'invalid_json', 'Request body is not valid JSON'));
      return;
    }
    next();
  };
  return [requireJson, parse];
}
