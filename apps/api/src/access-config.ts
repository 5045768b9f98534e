import { isIP } from 'node:net';
import { z } from 'zod';
import { commaList, flag } from '@txhook/platform';

/** What an operator key may do: `read` (list, stats, status, metrics) or `operate` (read + requeue). */
export const OPERATOR_ROLES = ['read', 'operate'] as const;
export type OperatorRole = (typeof OPERATOR_ROLES)[number];

/** One configured operator key: only the SHA-256 of the token is ever held. */
export interface OperatorKey {
  name: string;
  role: OperatorRole;
  sha256: Buffer;
}

const KEY_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;
/** Source names appear in a URL path and on records: short, lower-case, no separators. */
export const SOURCE_NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/;
const PROXY_KEYWORDS = new Set(['loopback', 'linklocal', 'uniquelocal']);

const operatorKeys = z.string().transform((value, ctx): OperatorKey[] => {
  const keys: OperatorKey[] = [];
  for (const entry of commaList(value)) {
    const [name = '', role = '', hex = '', ...rest] = entry.split(':');
    const problem =
      rest.length > 0 || !KEY_NAME.test(name)
        ? `"${entry.slice(0, 24)}…" is not name:role:sha256hex`
        : !(OPERATOR_ROLES as readonly string[]).includes(role)
          ? `key ${name}: role must be read or operate`
          : !SHA256_HEX.test(hex.toLowerCase())
            ? `key ${name}: the third part must be the 64-hex SHA-256 of the token (pnpm keygen prints it)`
            : keys.some((key) => key.name === name)
              ? `key ${name} is listed twice`
              : undefined;
    if (problem) {
      ctx.addIssue({ code: 'custom', message: problem });
      return z.NEVER;
    }
    keys.push({ name, role: role as OperatorRole, sha256: Buffer.from(hex.toLowerCase(), 'hex') });
  }
  if (keys.length === 0) {
    ctx.addIssue({ code: 'custom', message: 'must hold at least one name:role:sha256hex entry' });
    return z.NEVER;
  }
  return keys;
});

const webhookSources = z.string().transform((value, ctx): Map<string, string[]> => {
  const sources = new Map<string, string[]>();
  for (const entry of commaList(value)) {
    const separator = entry.indexOf(':');
    const name = entry.slice(0, separator);
    const secret = entry.slice(separator + 1);
    const problem =
      separator < 1 || !SOURCE_NAME.test(name)
        ? `"${entry.slice(0, 12)}…" is not name:secret (name: a-z 0-9 _ -, up to 32)`
        : name === 'default'
          ? 'the source name default is reserved for WEBHOOK_SECRET'
          : secret.length < 16
            ? `source ${name}: each secret must be at least 16 characters`
            : undefined;
    if (problem) {
      ctx.addIssue({ code: 'custom', message: problem });
      return z.NEVER;
    }
    // Listing a name twice gives it two secrets (rotation).
    sources.set(name, [...(sources.get(name) ?? []), secret]);
  }
  return sources;
});

/** Express's `trust proxy`: a hop count, or addresses/subnets/keywords of the trusted proxies. */
const trustProxy = z.string().transform((value, ctx): number | string[] => {
  if (/^[0-9]{1,2}$/.test(value)) return Number(value);
  const items = commaList(value);
  const bad = items.find((item) => !PROXY_KEYWORDS.has(item) && isIP(item.split('/')[0] ?? '') === 0);
  if (items.length === 0 || bad !== undefined) {
    ctx.addIssue({
      code: 'custom',
      message: 'must be a hop count or a list of proxy addresses/subnets (loopback, 10.0.0.0/8, ...)',
    });
    return z.NEVER;
  }
  return items;
});

/** The access-control part of the API's configuration (merged into apiConfigSchema). */
export const accessConfigShape = {
  /** `name:role:sha256hex,...`: operator bearer tokens by hash. Required in production. */
  OPERATOR_KEYS: operatorKeys.optional(),
  /** A bearer token Prometheus may use for GET /metrics only (at least 32 characters). */
  METRICS_TOKEN: z.string().min(32, { error: 'must be at least 32 characters' }).optional(),
  /** GET /v1/transactions/:id needs a read key too (public by default: the id is the capability). */
  STATUS_REQUIRES_KEY: flag,
  /** Lets production start without WEBHOOK_SECRET / OPERATOR_KEYS (demos only; logged loudly). */
  ALLOW_INSECURE: flag,
  /** Senders with their own secrets: `name:secret,...` (a name twice = two secrets, rotation). */
  WEBHOOK_SOURCES: webhookSources.optional(),
  /** Which proxies' X-Forwarded-For is believed for the client address (rate limit, logs). */
  TRUST_PROXY: trustProxy.optional(),
};
