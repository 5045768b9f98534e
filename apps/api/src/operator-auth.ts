import { createHash, timingSafeEqual } from 'node:crypto';
import type { Response } from 'express';
import type { OperatorKey, OperatorRole } from './access-config';

/** Who a request authenticated as: an operator key, or the Prometheus metrics token. */
export interface Credential {
  name: string;
  role: OperatorRole | 'metrics';
}

export type Authentication =
  { ok: true; credential: Credential } | { ok: false; reason: 'missing' | 'malformed' | 'unknown' };

/** RFC 6750 token68 characters; anything else is not a bearer token we could have issued. */
const BEARER = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/;
/** Longer tokens are not ours; refusing them bounds the hashing a caller can make us do. */
const MAX_TOKEN_LENGTH = 512;

const sha256 = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/**
 * Checks `Authorization: Bearer <token>` against the configured keys. Only SHA-256 digests are
 * held; the presented token is hashed once and compared with every digest in constant time, with
 * no early exit, so timing says neither which key nor how much of one matched.
 */
export class OperatorAuth {
  private readonly credentials: { digest: Buffer; credential: Credential }[];

  constructor(keys: readonly OperatorKey[] | undefined, metricsToken?: string) {
    this.credentials = (keys ?? []).map((key) => ({
      digest: key.sha256,
      credential: { name: key.name, role: key.role },
    }));
    if (metricsToken !== undefined) {
      this.credentials.push({
        digest: sha256(metricsToken),
        credential: { name: 'metrics', role: 'metrics' },
      });
    }
    this.enabled = keys !== undefined && keys.length > 0;
  }

  /** False without OPERATOR_KEYS (development): operator routes are then open to anyone. */
  readonly enabled: boolean;

  authenticate(header: string | undefined): Authentication {
    if (header === undefined || header === '') return { ok: false, reason: 'missing' };
    const token = header.length <= MAX_TOKEN_LENGTH ? BEARER.exec(header)?.[1] : undefined;
    if (token === undefined) return { ok: false, reason: 'malformed' };
    const presented = sha256(token);
    let found: Credential | undefined;
    for (const { digest, credential } of this.credentials) {
      if (timingSafeEqual(presented, digest) && found === undefined) found = credential;
    }
    return found ? { ok: true, credential: found } : { ok: false, reason: 'unknown' };
  }
}

/** The digest an OPERATOR_KEYS entry holds for `token` (what `pnpm keygen` prints). */
export function tokenDigestHex(token: string): string {
  return sha256(token).toString('hex');
}

/** Remembers who the request authenticated as (the access guard calls it), for operatorOf. */
export function setOperator(res: Response, credential: Credential): void {
  res.locals.operator = credential;
}

/** The credential a request authenticated with; `anonymous` when operator keys are off. */
export function operatorOf(res: Response): Credential {
  return (res.locals.operator as Credential | undefined) ?? { name: 'anonymous', role: 'operate' };
}
