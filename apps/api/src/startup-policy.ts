import { ConfigError } from '@txhook/platform';
import type { ApiConfig } from './config';

export interface SecurityPosture {
  /** Fields for the "api listening" line: what is protected and what is open. */
  banner: Record<string, string>;
  /** Said loudly at start-up (production running insecure on purpose, or development open). */
  warnings: string[];
}

/**
 * Fail closed: in production the API needs webhook secrets and operator keys, or refuses to start
 * naming what is missing. ALLOW_INSECURE=true is the explicit opt-out for demos; development and
 * test stay open and say so.
 */
export function securityPosture(config: ApiConfig): SecurityPosture {
  const signatures = config.WEBHOOK_SECRET !== undefined || config.WEBHOOK_SOURCES !== undefined;
  const keys = config.OPERATOR_KEYS !== undefined;
  const missing: string[] = [];
  if (!signatures) {
    missing.push(
      'WEBHOOK_SECRET (or WEBHOOK_SOURCES) is not set: anyone could post transactions for the worker to execute',
    );
  }
  if (!keys) {
    missing.push(
      'OPERATOR_KEYS is not set: anyone could list, read and requeue transactions (`pnpm keygen --name NAME --role operate` makes a key)',
    );
  }
  const production = config.NODE_ENV === 'production';
  if (production && missing.length > 0 && !config.ALLOW_INSECURE) {
    throw new ConfigError(
      missing.map(
        (problem) =>
          `${problem}; required when NODE_ENV=production (ALLOW_INSECURE=true overrides, demos only)`,
      ),
    );
  }
  const warnings = missing.map((problem) =>
    production ? `INSECURE (ALLOW_INSECURE=true): ${problem}` : `development mode: ${problem}`,
  );
  const sources = config.WEBHOOK_SOURCES ? [...config.WEBHOOK_SOURCES.keys()] : [];
  return {
    banner: {
      signatures: signatures
        ? `on (${config.WEBHOOK_SECRET?.length ?? 0} default secret(s)${sources.length ? `; sources: ${sources.join(', ')}` : ''})`
        : 'OFF: unsigned webhooks are accepted',
      operator_auth: keys
        ? `on (${config.OPERATOR_KEYS?.length} key(s)${config.METRICS_TOKEN ? ' + metrics token' : ''})`
        : 'OFF: every operator route is open',
      status_route: config.STATUS_REQUIRES_KEY ? 'read key' : 'public',
      trust_proxy: config.TRUST_PROXY === undefined ? 'off' : String(config.TRUST_PROXY),
    },
    warnings,
  };
}
