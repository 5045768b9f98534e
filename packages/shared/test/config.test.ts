import { ConfigError, loadConfig } from '../src/config';

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

  it('refuses an unacknowledged write concern (w: 0), which would turn off idempotency and fencing', () => {
    for (const w of ['0', '00']) {
      expect(() => loadConfig({ MONGODB_WRITE_CONCERN: w })).toThrow(
        /MONGODB_WRITE_CONCERN: .*unacknowledged.*duplicate/,
      );
    }
  });

  it('accepts majority and one or more nodes as write concern', () => {
    for (const w of ['majority', '1', '3']) {
      expect(loadConfig({ MONGODB_WRITE_CONCERN: w }).MONGODB_WRITE_CONCERN).toBe(w);
    }
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
