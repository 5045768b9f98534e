import type { Request, RequestHandler } from 'express';
import type { Logger } from '@txhook/platform';
import { ApiError } from './http-errors';
import { setOperator, type Credential, type OperatorAuth } from './operator-auth';
import { currentLogContext } from './request-context';
import { API_ROUTES } from './routes';
import type { Access, ApiRoute } from './routes/route';

export type { Access };
export type RouteRule = Pick<ApiRoute, 'method' | 'path' | 'access'>;

/**
 * Every route the API serves and what it needs, gathered from the resources (routes/index.ts).
 * The access guard looks requests up here (any method or path not listed needs `operate`: deny
 * by default), the access-matrix test is built from it, and a test fails when the app serves a
 * route not listed.
 */
export const ROUTE_RULES: readonly RouteRule[] = API_ROUTES.map(({ method, path, access }) => ({
  method,
  path,
  access,
}));

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
    setOperator(res, credential);
    next(csrfProblem(rule, req));
  };
}

/** Operator POSTs must be JSON: no cross-site form or "simple" request can send that type. */
function csrfProblem(rule: Access, req: Request): ApiError | undefined {
  if (rule !== 'operate' || req.method !== 'POST' || req.is('application/json')) return undefined;
  return new ApiError(415, 'unsupported_media_type', 'Content-Type must be application/json');
}

const where = (req: Request) => ({ method: req.method, path: req.path, ip: req.ip });
