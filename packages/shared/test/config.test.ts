import { ConfigError, externalCallTimeoutMs, loadConfig, shutdownGraceMs } from '../src/config';

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      PORT: 3000,
      MONGODB_DB: 'txhook',
      PROCESSING_DELAY_MS: 30_000,
      LOG_LEVEL: 'info',
    });
    expect(config.WORKER_CONCURRENCY).toBeGreaterThanOrEqual(1000);
  });

  it('reads numbers from strings', () => {
    expect(loadConfig({ PORT: '8080', LEASE_MS: '5000' })).toMatchObject({ PORT: 8080, LEASE_MS: 5000 });
  });

  it('names every bad variable in one error', () => {
    let thrown: unknown;
    try {
      loadConfig({ PORT: 'eighty', MONGODB_URL: 'http://x', LOG_LEVEL: 'loud' });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    const message = (thrown as ConfigError).message;
    expect(message).toContain('PORT');
    expect(message).toContain('MONGODB_URL');
    expect(message).toContain('LOG_LEVEL');
  });

  it('rejects a lease shorter than one second', () => {
    expect(() => loadConfig({ LEASE_MS: '10' })).toThrow(ConfigError);
  });
});

describe('loadConfig: call deadline, claims and shutdown grace', () => {
  it('gives the call a deadline above its duration and the worker a grace covering a whole call', () => {
    const config = loadConfig({});
    expect(config.MAX_CLAIMS).toBe(10);
    expect(externalCallTimeoutMs(config)).toBe(60_000);
    expect(shutdownGraceMs(config, 'worker')).toBe(65_000);
    expect(shutdownGraceMs(config, 'api')).toBe(10_000);
    const slow = loadConfig({ PROCESSING_DELAY_MS: '45000' });
    expect(externalCallTimeoutMs(slow)).toBe(90_000);
    expect(shutdownGraceMs(slow, 'worker')).toBe(95_000);
  });

  it('takes explicit values, and refuses a deadline that every call would hit', () => {
    const config = loadConfig({ EXTERNAL_CALL_TIMEOUT_MS: '40000', SHUTDOWN_GRACE_MS: '0' });
    expect(externalCallTimeoutMs(config)).toBe(40_000);
    expect(shutdownGraceMs(config, 'worker')).toBe(0);
    expect(shutdownGraceMs(config, 'api')).toBe(0);
    expect(() => loadConfig({ EXTERNAL_CALL_TIMEOUT_MS: '30000' })).toThrow(/EXTERNAL_CALL_TIMEOUT_MS/);
  });
});

describe('loadConfig: security settings', () => {
  const secret = 'a'.repeat(32);

  it('leaves signatures and rate limiting off by default, with a 300 s tolerance', () => {
    const config = loadConfig({});
    expect(config.WEBHOOK_SECRET).toBeUndefined();
    expect(config.RATE_LIMIT_PER_MINUTE).toBeUndefined();
    expect(config.WEBHOOK_TOLERANCE_SECONDS).toBe(300);
  });

  it('splits WEBHOOK_SECRET on commas for rotation', () => {
    const config = loadConfig({ WEBHOOK_SECRET: ` ${secret} ,${'b'.repeat(20)},` });
    expect(config.WEBHOOK_SECRET).toEqual([secret, 'b'.repeat(20)]);
  });

  it('refuses short secrets without printing them', () => {
    expect(() => loadConfig({ WEBHOOK_SECRET: `${secret},hunter2` })).toThrow(
      /WEBHOOK_SECRET.*16 characters/,
    );
    expect(() => loadConfig({ WEBHOOK_SECRET: `${secret},hunter2` })).not.toThrow(/hunter2/);
    expect(() => loadConfig({ WEBHOOK_SECRET: ',' })).toThrow(ConfigError);
  });

  it('reads the tolerance and the rate limit', () => {
    expect(loadConfig({ WEBHOOK_TOLERANCE_SECONDS: '60', RATE_LIMIT_PER_MINUTE: '120' })).toMatchObject({
      WEBHOOK_TOLERANCE_SECONDS: 60,
      RATE_LIMIT_PER_MINUTE: 120,
    });
    expect(() => loadConfig({ RATE_LIMIT_PER_MINUTE: '0' })).toThrow(ConfigError);
    expect(() => loadConfig({ WEBHOOK_TOLERANCE_SECONDS: '-5' })).toThrow(ConfigError);
  });
});
