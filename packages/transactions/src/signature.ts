import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Webhook signatures: `X-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`.
 * The timestamp is signed with the body, so a captured request cannot be replayed once it is
 * older than the tolerance. Several `v1=` entries are allowed (the sender signs with each of its
 * secrets while rotating), and the receiver may hold several secrets for the same reason.
 */
export const SIGNATURE_HEADER = 'X-Signature';

const HEX_SHA256 = /^[0-9a-f]{64}$/;
const UNIX_SECONDS = /^[0-9]{1,12}$/;
/** A sender needs a handful of entries at most; more is an attempt to make us hash a lot. */
const MAX_HEADER_ENTRIES = 16;

/**
 * Hex HMAC-SHA256 of `<timestamp>.<body>` under `secret`. The timestamp is hashed as text: a
 * receiver passes the characters it received, so what is verified is exactly what was signed.
 */
export function signPayload(secret: string, body: string | Buffer, timestamp: number | string): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
}

/** The whole header value for `body`, signed with every secret given (several while rotating). */
export function signatureHeader(
  secrets: string | readonly string[],
  body: string | Buffer,
  timestamp: number = Math.floor(Date.now() / 1000),
): string {
  const list = typeof secrets === 'string' ? [secrets] : secrets;
  return [`t=${timestamp}`, ...list.map((secret) => `v1=${signPayload(secret, body, timestamp)}`)].join(',');
}

export interface ParsedSignature {
  timestamp: number;
  /** `t` exactly as sent (e.g. zero-padded): the signed text. */
  timestampText: string;
  signatures: Buffer[];
}

/** Reads `t=...,v1=...[,v1=...]`; unknown schemes are ignored, anything odd gives undefined. */
export function parseSignatureHeader(header: string): ParsedSignature | undefined {
  const entries = header.split(',');
  if (entries.length > MAX_HEADER_ENTRIES) return undefined;
  let timestampText: string | undefined;
  const signatures: Buffer[] = [];
  for (const entry of entries) {
    const separator = entry.indexOf('=');
    if (separator < 1) return undefined;
    const key = entry.slice(0, separator).trim();
    const value = entry.slice(separator + 1).trim();
    if (key === 't') {
      if (timestampText !== undefined || !UNIX_SECONDS.test(value)) return undefined;
      timestampText = value;
    } else if (key === 'v1') {
      const hex = value.toLowerCase();
      if (!HEX_SHA256.test(hex)) return undefined;
      signatures.push(Buffer.from(hex, 'hex'));
    }
  }
  if (timestampText === undefined || signatures.length === 0) return undefined;
  return { timestamp: Number(timestampText), timestampText, signatures };
}

export type SignatureCheck =
  { ok: true } | { ok: false; reason: 'missing' | 'malformed' | 'outside_tolerance' | 'mismatch' };

export interface VerifySignatureOptions {
  /** The header value as received (undefined when absent). */
  header: string | string[] | undefined;
  /** The raw request body, exactly as received. */
  body: Buffer;
  /** Every secret currently accepted (old and new during a rotation). */
  secrets: readonly string[];
  toleranceSeconds: number;
  /** Current time in unix seconds (injectable for tests). */
  now?: number;
}

/** Checks a webhook's signature in constant time per comparison; the reason is for logs only. */
export function verifySignature(options: VerifySignatureOptions): SignatureCheck {
  const { header, body, secrets, toleranceSeconds } = options;
  if (header === undefined || header === '') return { ok: false, reason: 'missing' };
  // Two X-Signature headers are ambiguous: refuse rather than pick one.
  if (Array.isArray(header)) return { ok: false, reason: 'malformed' };
  const parsed = parseSignatureHeader(header);
  if (!parsed) return { ok: false, reason: 'malformed' };
  const now = options.now ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - parsed.timestamp) > toleranceSeconds) return { ok: false, reason: 'outside_tolerance' };
  for (const secret of secrets) {
    const expected = Buffer.from(signPayload(secret, body, parsed.timestampText), 'hex');
    for (const candidate of parsed.signatures) {
      // timingSafeEqual throws on different lengths; parsing already fixed them at 32 bytes.
      if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) return { ok: true };
    }
  }
  return { ok: false, reason: 'mismatch' };
}
