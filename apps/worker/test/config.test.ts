import { ConfigError } from '@txhook/platform';
import { externalCallTimeoutMs, loadWorkerConfig, shutdownDeadlineMs, shutdownGraceMs } from '../src/config';

describe('loadWorkerConfig', () => {
  it('applies the documented defaults', () => {
    const config = loadWorkerConfig({});
    expect(config).toMatchObject({
      MONGODB_DB: 'txhook',
      PROCESSING_DELAY_MS: 30_000,
      LEASE_MS: 30_000,
      MAX_ATTEMPTS: 5,
      CLAIM_BATCH_SIZE: 200,
      POLL_INTERVAL_MS: 500,
      LOG_LEVEL: 'info',
    });
    expect(config.WORKER_CONCURRENCY).toBeGreaterThanOrEqual(1000);
    expect(config.WORKER_METRICS_PORT).toBeUndefined();
  });

  it('reads numbers from strings', () => {
    expect(loadWorkerConfig({ LEASE_MS: '5000', WORKER_METRICS_PORT: '0' })).toMatchObject({
      LEASE_MS: 5000,
      WORKER_METRICS_PORT: 0,
    });
  });

  it('runs at niceness 10 unless told otherwise, and only within 0-19', () => {
    expect(loadWorkerConfig({}).WORKER_NICENESS).toBe(10);
    expect(loadWorkerConfig({ WORKER_NICENESS: '0' }).WORKER_NICENESS).toBe(0);
    expect(() => loadWorkerConfig({ WORKER_NICENESS: '20' })).toThrow(ConfigError);
    expect(() => loadWorkerConfig({ WORKER_NICENESS: '-5' })).toThrow(ConfigError);
  });

  it('rejects a lease shorter than one second', () => {
    expect(() => loadWorkerConfig({ LEASE_MS: '10' })).toThrow(ConfigError);
  });

  it('starts whatever the API-only settings say (they are not its settings)', () => {
    expect(() =>
      loadWorkerConfig({ OPERATOR_KEYS: 'nonsense', PORT: 'eighty', TRUST_PROXY: 'true' }),
    ).not.toThrow();
    expect(loadWorkerConfig({ PORT: '8080' })).not.toHaveProperty('PORT');
  });
});

describe('loadWorkerConfig: call deadline, claims and shutdown grace', () => {
  it('gives the call a deadline above its duration and the worker a grace covering a whole call', () => {
    const config = loadWorkerConfig({});
    expect(config.MAX_CLAIMS).toBe(10);
    expect(externalCallTimeoutMs(config)).toBe(60_000);
    expect(shutdownGraceMs(config)).toBe(65_000);
    expect(shutdownDeadlineMs(config)).toBe(75_000);
    const slow = loadWorkerConfig({ PROCESSING_DELAY_MS: '45000' });
    expect(externalCallTimeoutMs(slow)).toBe(90_000);
    expect(shutdownGraceMs(slow)).toBe(95_000);
  });

  it('takes explicit values, and refuses a deadline that every call would hit', () => {
    const config = loadWorkerConfig({ EXTERNAL_CALL_TIMEOUT_MS: '40000', SHUTDOWN_GRACE_MS: '0' });
    expect(externalCallTimeoutMs(config)).toBe(40_000);
    expect(shutdownGraceMs(config)).toBe(0);
    expect(() => loadWorkerConfig({ EXTERNAL_CALL_TIMEOUT_MS: '30000' })).toThrow(/EXTERNAL_CALL_TIMEOUT_MS/);
  });

  it('leaves the failure seed unset unless given, so workers do not all draw the same failures', () => {
    expect(loadWorkerConfig({}).EXTERNAL_CALL_FAILURE_SEED).toBeUndefined();
  });

  it('reads the fault-injection settings (tests only)', () => {
    expect(loadWorkerConfig({}).EXTERNAL_CALL_FAILURE_RATE).toBe(0);
    expect(
      loadWorkerConfig({ EXTERNAL_CALL_FAILURE_RATE: '0.25', EXTERNAL_CALL_FAILURE_SEED: '7' }),
    ).toMatchObject({ EXTERNAL_CALL_FAILURE_RATE: 0.25, EXTERNAL_CALL_FAILURE_SEED: 7 });
    expect(() => loadWorkerConfig({ EXTERNAL_CALL_FAILURE_RATE: '2' })).toThrow(/EXTERNAL_CALL_FAILURE_RATE/);
  });
});
