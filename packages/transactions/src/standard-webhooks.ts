import { createHmac, timingSafeEqual } from 'node:crypto';
import type { SignatureCheck } from './signature';

/**
 * Standard Webhooks (https://www.standardwebhooks.com, the scheme Svix and many processors send):
 * `webhook-id`, `webhook-timestamp` (unix seconds) and `webhook-signature: v1,<base64 HMAC-SHA256
 * of "<id>.<timestamp>.<body>">`, several space-separated entries while the sender rotates. The
 * secret is `whsec_<base64 of the key bytes>`; a secret without the prefix is used as its UTF-8
 * bytes (so one WEBHOOK_SECRET can serve both schemes).
 */
export const STANDARD_WEBHOOK_HEADERS = {
  id: 'webhook-id',
  timestamp: 'webhook-timestamp',
  signature: 'webhook-signature',
} as const;

const SECRET_PREFIX = 'whsec_';
const UNIX_SECONDS = /^[0-9]{1,12}$/;
/** Printable ASCII without spaces or the '.' separator's ambiguity mattering: ids are opaque. */
const WEBHOOK_ID = /^[\x21-\x7e]{1,256}$/;
const BASE64_SHA256 = /^[A-Za-z0-9+/]{43}=$/;
const MAX_SIGNATURES = 16;

/** The HMAC key bytes of a secret as the standard defines them. */
export function standardWebhookKey(secret: string): Buffer {
  return secret.startsWith(SECRET_PREFIX)
    ? Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64')
    : Buffer.from(secret, 'utf8');
}

/** Base64 HMAC-SHA256 of `<id>.<timestamp>.<body>`; the timestamp as the text sent. */
export function signStandardWebhook(
  secret: string,
  id: string,
  timestamp: number | string,
  body: string | Buffer,
): string {
  return createHmac('sha256', standardWebhookKey(secret))
    .update(`${id}.${timestamp}.`)
    .update(body)
    .digest('base64');
}

/** The three headers for `body`, signed with every secret given. */
export function standardWebhookHeaders(
  secrets: string | readonly string[],
  id: string,
  body: string | Buffer,
  timestamp: number = Math.floor(Date.now() / 1000),
): Record<string, string> {
  const list = typeof secrets === 'string' ? [secrets] : secrets;
  return {
    [STANDARD_WEBHOOK_HEADERS.id]: id,
    [STANDARD_WEBHOOK_HEADERS.timestamp]: String(timestamp),
    [STANDARD_WEBHOOK_HEADERS.signature]: list
      .map((secret) => `v1,${signStandardWebhook(secret, id, timestamp, body)}`)
      .join(' '),
  };
}

type HeaderValue = string | string[] | undefined;

export interface VerifyStandardWebhookOptions {
  id: HeaderValue;
  timestamp: HeaderValue;
  signature: HeaderValue;
  body: Buffer;
  secrets: readonly string[];
  toleranceSeconds: number;
  now?: number;
}

/** Checks the Standard Webhooks headers; same tolerance and constant-time rules as X-Signature. */
export function verifyStandardWebhook(options: VerifyStandardWebhookOptions): SignatureCheck {
  const { id, timestamp, signature } = options;
  if (signature === undefined || signature === '') return { ok: false, reason: 'missing' };
  // A repeated header is ambiguous: refuse rather than pick one.
  if (Array.isArray(id) || Array.isArray(timestamp) || Array.isArray(signature)) {
    return { ok: false, reason: 'malformed' };
  }
  if (id === undefined || !WEBHOOK_ID.test(id) || timestamp === undefined || !UNIX_SECONDS.test(timestamp)) {
    return { ok: false, reason: 'malformed' };
  }
  const entries = signature.split(' ').filter((entry) => entry !== '');
  if (entries.length > MAX_SIGNATURES) return { ok: false, reason: 'malformed' };
  const candidates: Buffer[] = [];
  for (const entry of entries) {
    const comma = entry.indexOf(',');
    if (comma < 1) return { ok: false, reason: 'malformed' };
    // Other versions (e.g. v1a, asymmetric) are skipped, as the standard asks.
    if (entry.slice(0, comma) !== 'v1') continue;
    const value = entry.slice(comma + 1);
    if (!BASE64_SHA256.test(value)) return { ok: false, reason: 'malformed' };
    candidates.push(Buffer.from(value, 'base64'));
  }
  if (candidates.length === 0) return { ok: false, reason: 'malformed' };
  const now = options.now ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - Number(timestamp)) > options.toleranceSeconds) {
    return { ok: false, reason: 'outside_tolerance' };
  }
  for (const secret of options.secrets) {
    const expected = Buffer.from(signStandardWebhook(secret, id, timestamp, options.body), 'base64');
    for (const candidate of candidates) {
      if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) return { ok: true };
    }
  }
  return { ok: false, reason: 'mismatch' };
}
