import { config as loadDotenv } from 'dotenv';
import { z } from 'zod';

/**
 * The configuration pieces both apps build their own schema from (apps/api/src/config.ts,
 * apps/worker/src/config.ts): loading the environment, the error that names bad variables, and
 * the settings every process has (environment, MongoDB connection, logging, shutdown grace).
 */

/** Thrown when the environment holds a value the service cannot start with. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/** A whole number from the environment, within bounds, with a default. */
export const wholeNumber = (min: number, max: number, fallback: number) =>
  optionalWholeNumber(min, max).default(fallback);

/** A whole number that stays undefined when unset (its default depends on other settings). */
export const optionalWholeNumber = (min: number, max: number) =>
  z.coerce
    .number({ error: 'must be a whole number' })
    .int({ error: 'must be a whole number' })
    .min(min)
    .max(max)
    .optional();

/** `true` or `false`, false when unset. */
export const flag = z
  .enum(['true', 'false'], { error: 'must be true or false' })
  .default('false')
  .transform((value) => value === 'true');

/** Splits `a,b, c` into trimmed non-empty items. */
export const commaList = (value: string): string[] =>
  value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');

const mongoUrl = z
  .string()
  .regex(/^mongodb(\+srv)?:\/\/\S+$/, { error: 'must start with mongodb:// or mongodb+srv://' });

/** Where the database is and how every write is acknowledged (createMongoClient reads these). */
export const mongoConfigShape = {
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
  MONGODB_TIMEOUT_MS: wholeNumber(100, 120_000, 5_000),
};

const NODE_ENVS = ['development', 'production', 'test'] as const;

/** What createLogger reads. */
export const loggingConfigShape = {
  NODE_ENV: z.enum(NODE_ENVS).default('development'),
  LOG_LEVEL: z.enum(['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly']).default('info'),
  /** json in production (one object per line), pretty for people reading a terminal. */
  LOG_FORMAT: z.enum(['json', 'pretty']).optional(),
};

/** What every process reads: environment, database, logging, and how long a stop may take. */
export const commonConfigShape = {
  ...loggingConfigShape,
  ...mongoConfigShape,
  /**
   * On SIGTERM, how long in-flight work may run before it is aborted (API: requests; worker: calls,
   * whose leases are then released). Each app has its default (its config's shutdownGraceMs).
   */
  SHUTDOWN_GRACE_MS: optionalWholeNumber(0, 3_700_000),
};

export type MongoSettings = z.infer<z.ZodObject<typeof mongoConfigShape>>;
export type LoggingSettings = z.infer<z.ZodObject<typeof loggingConfigShape>>;

export interface LoadConfigOptions {
  /** Read a .env file from the working directory first (never overrides the real environment). */
  dotenv?: boolean;
}

/** Reads and validates an app's configuration with its schema; throws ConfigError naming every bad variable. */
export function parseEnvironment<Schema extends z.ZodType>(
  schema: Schema,
  env: NodeJS.ProcessEnv,
  options: LoadConfigOptions = {},
): z.infer<Schema> {
  if (options.dotenv) loadDotenv({ quiet: true });
  // Empty strings mean "not set", as in most shells' `FOO= cmd`.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`));
  }
  return parsed.data;
}
