import { config as loadDotenv } from 'dotenv';
import { z } from 'zod';
import { accessConfigShape } from './access-config';
import { CLAIM_MODES, DEFAULT_CLAIM_MODE } from './claim-mode';
import { DEFAULT_RETENTION_DAYS } from './retention';

/** Thrown when the environment holds a value the service cannot start with. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

const integer = (min: number, max: number, fallback: number) =>
  z.coerce
    .number({ error: 'must be a whole number' })
    .int({ error: 'must be a whole number' })
    .min(min)
    .max(max)
    .default(fallback);

/** A whole number that stays undefined when unset (its default depends on other settings). */
const optionalInteger = (min: number, max: number) =>
  z.coerce
    .number({ error: 'must be a whole number' })
    .int({ error: 'must be a whole number' })
    .min(min)
    .max(max)
    .optional();

const mongoUrl = z
  .string()
  .regex(/^mongodb(\+srv)?:\/\/\S+$/, { error: 'must start with mongodb:// or mongodb+srv://' });

export const configSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: integer(0, 65535, 3000),
  /** When unset, the API and worker use the local default; `pnpm start` fills it with an embedded server. */
  MONGODB_URL: mongoUrl.default('mongodb://127.0.0.1:27017'),
  MONGODB_DB: z
    .string()
    .regex(/^[^/\\. "$*<>:|?]{1,63}$/, { error: 'must be a valid MongoDB database name' })
    .default('txhook'),
  /**
   * Write concern of every write: `majority` (default) or a number of nodes, at least 1. Never 0:
   * unacknowledged writes report no duplicate key and no fenced-update outcome, so idempotency
   * and lease fencing would silently stop working.
   */
  MONGODB_WRITE_CONCERN: z
    .string()
    .regex(/^(majority|[0-9]+)$/, { error: 'must be majority or a number of nodes' })
    .refine((value) => value === 'majority' || Number(value) >= 1, {
      error:
        'must not be 0: unacknowledged writes report no duplicate key and no lease-fenced update, ' +
        'so idempotency and fencing would be off; use majority (recommended) or a number of nodes >= 1',
    })
    .default('majority'),
  /** Whether writes wait for the on-disk journal before they are acknowledged. */
  MONGODB_JOURNAL: z
    .enum(['true', 'false'], { error: 'must be true or false' })
    .default('true')
    .transform((value) => value === 'true'),
  /** Bound on one database round trip (connect or reply); past it the API answers 503. */
  MONGODB_TIMEOUT_MS: integer(100, 120_000, 5_000),
  /** How long the simulated external call takes. */
  PROCESSING_DELAY_MS: integer(0, 3_600_000, 30_000),
  /** How long a claim stays valid without a heartbeat; a dead worker's records are due again after it. */
  LEASE_MS: integer(1_000, 3_600_000, 30_000),
  /** Most external calls one worker process runs at once (they are I/O waits, not CPU work). */
  WORKER_CONCURRENCY: integer(1, 100_000, 10_000),
  /** Failed external calls (errors, deadlines) before a record becomes FAILED. */
  MAX_ATTEMPTS: integer(1, 100, 5),
  /**
   * Leases without an outcome (the worker crashed or stalled each time) before a record is poison:
   * FAILED instead of leased again.
   */
  MAX_CLAIMS: integer(1, 1_000, 10),
  /**
   * Deadline of one external call; past it the call is aborted and counts as a failed attempt.
   * Default: twice PROCESSING_DELAY_MS, at least 60 s (see externalCallTimeoutMs).
   */
  EXTERNAL_CALL_TIMEOUT_MS: optionalInteger(100, 3_600_000),
  /** Backoff after the first failed attempt; doubles per attempt (with jitter) up to the max. */
  RETRY_BASE_DELAY_MS: integer(0, 3_600_000, 1_000),
  RETRY_MAX_DELAY_MS: integer(0, 86_400_000, 60_000),
  /** Fault injection: share of simulated external calls that fail (0 in production). */
  EXTERNAL_CALL_FAILURE_RATE: z.coerce
    .number({ error: 'must be a number from 0 to 1' })
    .min(0)
    .max(1)
    .default(0),
  /**
   * Fault injection, tests only: the worker process exits (code 86) when it starts the call of a
   * transaction whose id starts with this prefix, as if the call crashed it (poison record).
   */
  FAULT_CRASH_ON_ID_PREFIX: z.string().min(1).optional(),
  /** Makes injected failures reproducible (same seed, same sequence). */
  EXTERNAL_CALL_FAILURE_SEED: integer(0, 2 ** 31 - 1, 0).optional(),
  /** Most records a worker claims per round of claiming (either CLAIM_MODE). */
  CLAIM_BATCH_SIZE: integer(1, 10_000, 200),
  /**
   * How the worker claims: `single` = one findOneAndUpdate per record, several in flight;
   * `batch` = find ids + one updateMany + read back. The default and why: docs/BENCHMARKS.md.
   */
  CLAIM_MODE: z.enum(CLAIM_MODES).default(DEFAULT_CLAIM_MODE),
  /** Idle wait between claim attempts when nothing is due. */
  POLL_INTERVAL_MS: integer(10, 60_000, 500),
  /**
   * On SIGTERM, how long in-flight work may run before it is aborted (API: requests; worker: calls,
   * whose leases are then released). Default: API 10 s; worker the call deadline + 5 s, so a
   * deploy never cuts a call short (see shutdownGraceMs).
   */
  SHUTDOWN_GRACE_MS: optionalInteger(0, 3_700_000),
  /**
   * API: after SIGTERM, how long it keeps listening with GET /readyz failing (answers close their
   * connections) before it stops accepting, so the load balancer notices first. 0 = close at once.
   */
  SHUTDOWN_DRAIN_DELAY_MS: integer(0, 600_000, 0),
  /**
   * Port of the worker's GET /metrics (Prometheus); 0 = any free port. Unset: 9464, or any free
   * port when 9464 is taken (another worker on the host). Set explicitly, a taken port is a
   * start-up error. The port in use is logged at start-up ("metrics listening").
   */
  WORKER_METRICS_PORT: z.coerce
    .number({ error: 'must be a whole number' })
    .int({ error: 'must be a whole number' })
    .min(0)
    .max(65535)
    .optional(),
  /**
   * Days a PROCESSED or FAILED record is kept before it is deleted (TTL index, plus the worker's
   * sweep); 0 = keep forever. A redelivery after deletion is stored and processed as new.
   */
  RETENTION_DAYS: integer(0, 36_500, DEFAULT_RETENTION_DAYS),
  /** How often each worker deletes expired terminal records (for servers without TTL expiry). */
  RETENTION_SWEEP_MS: integer(1_000, 86_400_000, 60_000),
  /** Largest request body the API reads. */
  BODY_LIMIT_BYTES: integer(256, 1_048_576, 16_384),
  /**
   * Comma-separated HMAC secrets for X-Signature; several while rotating. Unset = signatures are
   * not checked (development only: production must set it).
   */
  WEBHOOK_SECRET: z
    .string()
    .transform((value) =>
      value
        .split(',')
        .map((secret) => secret.trim())
        .filter((secret) => secret !== ''),
    )
    .pipe(
      z
        .array(z.string().min(16, { error: 'each secret must be at least 16 characters' }))
        .min(1, { error: 'must hold at least one secret' }),
    )
    .optional(),
  /** How far a signature's timestamp may be from now, either way, before it is refused as a replay. */
  WEBHOOK_TOLERANCE_SECONDS: integer(1, 86_400, 300),
  /** Requests per minute per client IP; unset = no limit (e.g. when a gateway limits already). */
  RATE_LIMIT_PER_MINUTE: z.coerce
    .number({ error: 'must be a whole number' })
    .int({ error: 'must be a whole number' })
    .min(1)
    .max(1_000_000)
    .optional(),
  LOG_LEVEL: z.enum(['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly']).default('info'),
  /** json in production (one object per line), pretty for people reading a terminal. */
  LOG_FORMAT: z.enum(['json', 'pretty']).optional(),
  ...accessConfigShape,
});

export type AppConfig = z.infer<typeof configSchema>;

export interface LoadConfigOptions {
  /** Read a .env file from the working directory first (never overrides the real environment). */
  dotenv?: boolean;
}

/** The external call's deadline: EXTERNAL_CALL_TIMEOUT_MS, else 2 x PROCESSING_DELAY_MS, at least 60 s. */
export function externalCallTimeoutMs(config: AppConfig): number {
  return config.EXTERNAL_CALL_TIMEOUT_MS ?? Math.max(60_000, 2 * config.PROCESSING_DELAY_MS);
}

/**
 * SHUTDOWN_GRACE_MS, else the app's default: the API drains requests for 10 s; the worker waits
 * for a whole call (its deadline, plus 5 s to record the outcome), so a deploy aborts none.
 */
export function shutdownGraceMs(config: AppConfig, app: 'api' | 'worker'): number {
  if (config.SHUTDOWN_GRACE_MS !== undefined) return config.SHUTDOWN_GRACE_MS;
  return app === 'api' ? 10_000 : externalCallTimeoutMs(config) + 5_000;
}

/**
 * How long a process may take after SIGTERM before it exits anyway: the API's drain delay (readiness
 * failing, still listening) and grace for in-flight requests, the worker's grace for in-flight calls,
 * plus each one's margin for closing the pool (and, for the worker, releasing leases). Deployments
 * must wait longer than this before they kill (compose stop_grace_period, Kubernetes
 * terminationGracePeriodSeconds); the deploy tests check it against the manifests.
 */
export function shutdownDeadlineMs(config: AppConfig, app: 'api' | 'worker'): number {
  return app === 'api'
    ? config.SHUTDOWN_DRAIN_DELAY_MS + shutdownGraceMs(config, 'api') + 5_000
    : shutdownGraceMs(config, 'worker') + 10_000;
}

/** Reads and validates the configuration; throws ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, options: LoadConfigOptions = {}): AppConfig {
  if (options.dotenv) loadDotenv({ quiet: true });
  // Empty strings mean "not set", as in most shells' `FOO= cmd`.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  const parsed = configSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`));
  }
  const timeout = parsed.data.EXTERNAL_CALL_TIMEOUT_MS;
  if (timeout !== undefined && timeout <= parsed.data.PROCESSING_DELAY_MS) {
    throw new ConfigError([
      `EXTERNAL_CALL_TIMEOUT_MS: must be above PROCESSING_DELAY_MS (${parsed.data.PROCESSING_DELAY_MS}), or every call times out`,
    ]);
  }
  return parsed.data;
}
