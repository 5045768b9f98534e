import { z } from 'zod';
import { CLAIM_MODES, DEFAULT_CLAIM_MODE, retentionConfigShape } from '@txhook/transactions';
import {
  commonConfigShape,
  ConfigError,
  optionalWholeNumber,
  parseEnvironment,
  wholeNumber,
  type LoadConfigOptions,
} from '@txhook/platform';

/** Every setting the worker reads: the common ones plus leases, the external call and retries. */
export const workerConfigSchema = z.object({
  ...commonConfigShape,
  ...retentionConfigShape,
  /** How long the simulated external call takes. */
  PROCESSING_DELAY_MS: wholeNumber(0, 3_600_000, 30_000),
  /** How long a claim stays valid without a heartbeat; a dead worker's records are due again after it. */
  LEASE_MS: wholeNumber(1_000, 3_600_000, 30_000),
  /** Most external calls one worker process runs at once (they are I/O waits, not CPU work). */
  WORKER_CONCURRENCY: wholeNumber(1, 100_000, 10_000),
  /** Failed external calls (errors, deadlines) before a record becomes FAILED. */
  MAX_ATTEMPTS: wholeNumber(1, 100, 5),
  /**
   * Leases without an outcome (the worker crashed or stalled each time) before a record is poison:
   * FAILED instead of leased again.
   */
  MAX_CLAIMS: wholeNumber(1, 1_000, 10),
  /**
   * Deadline of one external call; past it the call is aborted and counts as a failed attempt.
   * Default: twice PROCESSING_DELAY_MS, at least 60 s (see externalCallTimeoutMs).
   */
  EXTERNAL_CALL_TIMEOUT_MS: optionalWholeNumber(100, 3_600_000),
  /** Backoff after the first failed attempt; doubles per attempt (with jitter) up to the max. */
  RETRY_BASE_DELAY_MS: wholeNumber(0, 3_600_000, 1_000),
  RETRY_MAX_DELAY_MS: wholeNumber(0, 86_400_000, 60_000),
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
  EXTERNAL_CALL_FAILURE_SEED: optionalWholeNumber(0, 2 ** 31 - 1),
  /** Most records a worker claims per round of claiming (either CLAIM_MODE). */
  CLAIM_BATCH_SIZE: wholeNumber(1, 10_000, 200),
  /**
   * How the worker claims: `single` = one findOneAndUpdate per record, several in flight;
   * `batch` = find ids + one updateMany + read back. The default and why: docs/BENCHMARKS.md.
   */
  CLAIM_MODE: z.enum(CLAIM_MODES).default(DEFAULT_CLAIM_MODE),
  /** Idle wait between claim attempts when nothing is due. */
  POLL_INTERVAL_MS: wholeNumber(10, 60_000, 500),
  /**
   * Port of the worker's GET /metrics (Prometheus); 0 = any free port. Unset: 9464, or any free
   * port when 9464 is taken (another worker on the host). Set explicitly, a taken port is a
   * start-up error. The port in use is logged at start-up ("metrics listening").
   */
  WORKER_METRICS_PORT: optionalWholeNumber(0, 65535),
  /**
   * CPU niceness of the worker process (0-19, higher = served later). Where the API and workers
   * share cores (npm start on one machine), a full CPU then serves the acknowledgements (the
   * 500 ms contract) before the drain, which can wait. Alone in its container it changes nothing.
   */
  WORKER_NICENESS: wholeNumber(0, 19, 10),
  /** How often each worker deletes expired terminal records (for servers without TTL expiry). */
  RETENTION_SWEEP_MS: wholeNumber(1_000, 86_400_000, 60_000),
});

export type WorkerConfig = z.infer<typeof workerConfigSchema>;

/** Reads and validates the worker's configuration; throws ConfigError naming every bad variable. */
export function loadWorkerConfig(
  env: NodeJS.ProcessEnv = process.env,
  options: LoadConfigOptions = {},
): WorkerConfig {
  const config = parseEnvironment(workerConfigSchema, env, options);
  const timeout = config.EXTERNAL_CALL_TIMEOUT_MS;
  if (timeout !== undefined && timeout <= config.PROCESSING_DELAY_MS) {
    throw new ConfigError([
      `EXTERNAL_CALL_TIMEOUT_MS: must be above PROCESSING_DELAY_MS (${config.PROCESSING_DELAY_MS}), or every call times out`,
    ]);
  }
  return config;
}

/** The external call's deadline: EXTERNAL_CALL_TIMEOUT_MS, else 2 x PROCESSING_DELAY_MS, at least 60 s. */
export function externalCallTimeoutMs(config: WorkerConfig): number {
  return config.EXTERNAL_CALL_TIMEOUT_MS ?? Math.max(60_000, 2 * config.PROCESSING_DELAY_MS);
}

/**
 * SHUTDOWN_GRACE_MS, else the call's deadline plus 5 s to record the outcome: a deploy waits for
 * a whole call and aborts none.
 */
export function shutdownGraceMs(config: WorkerConfig): number {
  return config.SHUTDOWN_GRACE_MS ?? externalCallTimeoutMs(config) + 5_000;
}

/**
 * How long the worker may take after SIGTERM before it exits anyway: the grace for in-flight calls
 * plus 10 s to release leases and close the pool. Deployments must wait longer before they kill
 * (compose stop_grace_period, Kubernetes terminationGracePeriodSeconds); the deploy tests check it.
 */
export function shutdownDeadlineMs(config: WorkerConfig): number {
  return shutdownGraceMs(config) + 10_000;
}
