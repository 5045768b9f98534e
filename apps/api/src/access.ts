import type { Request, RequestHandler, Response } from 'express';
import type { Logger } from '@txhook/shared';
import { ApiError } from './http-errors';
import type { Credential, OperatorAuth } from './operator-auth';
import { currentLogContext } from './request-context';

/**
 * What a route asks of its caller:
 * - `public`: nothing (health, probes, the contract, the dashboard page, which holds no data);
 * - `signature`: a webhook signature, checked by the webhook route itself, never an operator key;
 * - `status`: public, or `read` when STATUS_REQUIRES_KEY=true (the id is the capability);
 * - `read` / `operate`: an operator key with that role (operate includes read);
 * - `metrics`: a read key or METRICS_TOKEN.
 */
export type Access = 'public' | 'signature' | 'status' | 'read' | 'operate' | 'metrics';

export interface RouteRule {
  method: 'GET' | 'POST';
  /** Express path syntax (`:name` for a parameter). */
  path: string;
  access: Access;
}

/**
 * Every route the API serves and what it needs. The access guard looks requests up here (any
 * method or path not listed needs `operate`: deny by default), the OpenAPI document and the
 * access-matrix test are built from it, and a test fails when the app serves a route not listed.
 * More specific paths first: `POST /v1/transactions/retry` before `/:transaction_id`.
 */
export const ROUTE_RULES: readonly RouteRule[] = [
  { method: 'GET', path: '/', access: 'public' },
  { method: 'GET', path: '/livez', access: 'public' },
  { method: 'GET', path: '/readyz', access: 'public' },
  { method: 'GET', path: '/openapi.json', access: 'public' },
  { method: 'GET', path: '/dashboard', access: 'public' },
  { method: 'POST', path: '/v1/webhooks/transactions', access: 'signature' },
  { method: 'POST', path: '/v1/webhooks/:source/transactions', access: 'signature' },
  { method: 'GET', path: '/metrics', access: 'metrics' },
  { method: 'GET', path: '/v1/stats', access: 'read' },
  { method: 'GET', path: '/v1/transactions', access: 'read' },
  { method: 'POST', path: '/v1/transactions/retry', access: 'operate' },
  { method: 'GET', path: '/v1/transactions/:transaction_id', access: 'status' },
  { method: 'POST', path: '/v1/transactions/:transaction_id/retry', access: 'operate' },
];

/** Express matches paths case-insensitively and with an optional trailing slash; so do we. */
function pathPattern(path: string): RegExp {
  const segments = path
    .split('/')
    .map((segment) => (segment.startsWith(':') ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  return new RegExp(`^${segments.join('/')}/?$`, 'i');
}

const compiled = ROUTE_RULES.map((rule) => ({ ...rule, pattern: pathPattern(rule.path) }));

/**
 * The rule for a request: the one for its method and path; for another method on a listed path
 * (answered 405 by the route), that path's first rule; for anything else `operate`.
 */
export function accessFor(method: string, path: string): Access {
  const onPath = compiled.filter((rule) => rule.pattern.test(path));
  const wanted = method === 'HEAD' ? 'GET' : method;
  return (onPath.find((rule) => rule.method === wanted) ?? onPath[0])?.access ?? 'operate';
}

/** The credential a request authenticated with; `anonymous` when operator keys are off. */
export function operatorOf(res: Response): Credential {
  return (res.locals.operator as Credential | undefined) ?? { name: 'anonymous', role: 'operate' };
}

const ALLOWED: Record<'read' | 'operate' | 'metrics', readonly Credential['role'][]> = {
  read: ['read', 'operate'],
  operate: ['operate'],
  metrics: ['read', 'operate', 'metrics'],
};

export interface AccessOptions {
  auth: OperatorAuth;
  statusRequiresKey: boolean;
  logger: Logger;
}

/**
 * Checks the caller against ROUTE_RULES before any route runs. Every authentication failure is
 * the same 401 (the reason goes to the log only); a valid credential without the role is 403.
 * Operator POSTs also need a JSON content type, so a cross-site form or "simple" fetch cannot
 * send one even while keys are off (a bearer header already forces a CORS preflight).
 */
export function accessGuard(options: AccessOptions): RequestHandler {
  return (req, res, next) => {
    const rule = accessFor(req.method, req.path);
    const needed = rule === 'status' ? (options.statusRequiresKey ? 'read' : 'public') : rule;
    if (needed === 'public' || needed === 'signature' || !options.auth.enabled) {
      next(csrfProblem(rule, req));
      return;
    }
    const result = options.auth.authenticate(req.get('authorization'));
    if (!result.ok) {
      options.logger.warn('operator authentication refused', { reason: result.reason, ...where(req) });
      next(
        new ApiError(401, 'unauthorized', 'Missing or invalid credentials', undefined, {
          'WWW-Authenticate': 'Bearer realm="txhook"',
        }),
      );
      return;
    }
    const { credential } = result;
    const context = currentLogContext();
    if (context) context.operator = credential.name;
    if (!ALLOWED[needed].includes(credential.role)) {
      options.logger.warn('operator lacks the role', {
        operator: credential.name,
        role: credential.role,
        needed,
        ...where(req),
      });
      next(new ApiError(403, 'forbidden', 'This credential may not do this'));
      return;
    }
    res.locals.operator = credential;
    next(csrfProblem(rule, req));
  };
}

/** Operator POSTs must be JSON: no cross-site form or "simple" request can send that type. */
function csrfProblem(rule: Access, req: Request): ApiError | undefined {
  if (rule !== 'operate' || req.method !== 'POST' || req.is('application/json')) return undefined;
  return new ApiError(415, 'unsupported_media_type', 'Content-Type must be application/json');
}

const where = (req: Request) => ({ method: req.method, path: req.path, ip: req.ip });
