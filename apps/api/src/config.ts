import { z } from 'zod';
import {
  commaList,
  commonConfigShape,
  optionalWholeNumber,
  parseEnvironment,
  wholeNumber,
  type LoadConfigOptions,
} from '@txhook/platform';
import { retentionConfigShape } from '@txhook/transactions';
import { accessConfigShape } from './access-config';

/** Every setting the API reads: the common ones plus HTTP, webhook signatures and access control. */
export const apiConfigSchema = z.object({
  ...commonConfigShape,
  ...retentionConfigShape,
  PORT: wholeNumber(0, 65535, 3000),
  /** Largest request body the API reads. */
  BODY_LIMIT_BYTES: wholeNumber(256, 1_048_576, 16_384),
  /**
   * Comma-separated HMAC secrets for X-Signature; several while rotating. Unset = signatures are
   * not checked (development only: production must set it).
   */
  WEBHOOK_SECRET: z
    .string()
    .transform(commaList)
    .pipe(
      z
        .array(z.string().min(16, { error: 'each secret must be at least 16 characters' }))
        .min(1, { error: 'must hold at least one secret' }),
    )
    .optional(),
  /** How far a signature's timestamp may be from now, either way, before it is refused as a replay. */
  WEBHOOK_TOLERANCE_SECONDS: wholeNumber(1, 86_400, 300),
  /** Requests per minute per client IP; unset = no limit (e.g. when a gateway limits already). */
  RATE_LIMIT_PER_MINUTE: optionalWholeNumber(1, 1_000_000),
  /**
   * After SIGTERM, how long it keeps listening with GET /readyz failing (answers close their
   * connections) before it stops accepting, so the load balancer notices first. 0 = close at once.
   */
  SHUTDOWN_DRAIN_DELAY_MS: wholeNumber(0, 600_000, 0),
  /**
   * Webhooks posted before listening to a copy of the app that stores, counts and logs nothing,
   * so the first real burst meets compiled code (see warm-up.ts). 0 = listen cold.
   */
  WARM_UP_REQUESTS: wholeNumber(0, 100_000, 1_000),
  /**
   * A new connection is read once no other has arrived for this long (at most 100 ms after the first
   * held), so a burst of them is accepted before any is served (see new-connection-hold.ts).
   * 0 = read each at once, as Node.js does by itself.
   */
  NEW_CONNECTION_QUIET_MS: wholeNumber(0, 20, 2),
  ...accessConfigShape,
});

export type ApiConfig = z.infer<typeof apiConfigSchema>;

/** Reads and validates the API's configuration; throws ConfigError naming every bad variable. */
export function loadApiConfig(
  env: NodeJS.ProcessEnv = process.env,
  options: LoadConfigOptions = {},
): ApiConfig {
  return parseEnvironment(apiConfigSchema, env, options);
}

/** SHUTDOWN_GRACE_MS, else 10 s for in-flight requests to finish. */
export function shutdownGraceMs(config: ApiConfig): number {
  return config.SHUTDOWN_GRACE_MS ?? 10_000;
}

/**
 * How long the API may take after SIGTERM before it exits anyway: the drain delay (readiness
 * failing, still listening), the grace for in-flight requests, and 5 s to close the pool.
 * Deployments must wait longer before they kill; the deploy tests check it against the manifests.
 */
export function shutdownDeadlineMs(config: ApiConfig): number {
  return config.SHUTDOWN_DRAIN_DELAY_MS + shutdownGraceMs(config) + 5_000;
}
