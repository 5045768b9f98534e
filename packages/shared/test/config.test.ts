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

describe('access-control settings', () => {
  const hex = 'ab'.repeat(32);
  const problemOf = (env: Record<string, string>) => {
    try {
      loadConfig(env);
    } catch (error) {
      return (error as ConfigError).message;
    }
    return undefined;
  };

  it('reads OPERATOR_KEYS as names, roles and SHA-256 digests', () => {
    const { OPERATOR_KEYS } = loadConfig({
      OPERATOR_KEYS: `grafana:read:${hex}, alice:operate:${hex.toUpperCase()}`,
    });
    expect(OPERATOR_KEYS?.map((key) => [key.name, key.role, key.sha256.toString('hex')])).toEqual([
      ['grafana', 'read', hex],
      ['alice', 'operate', hex],
    ]);
  });

  it.each([
    [`a:admin:${hex}`, /role must be read or operate/],
    ['a:read:abc', /64-hex SHA-256/],
    [`a:read:${hex},a:operate:${hex}`, /listed twice/],
    [`a b:read:${hex}`, /not name:role:sha256hex/],
    [`a:read:${hex}:extra`, /not name:role:sha256hex/],
  ])('refuses OPERATOR_KEYS=%s', (value, problem) => {
    expect(problemOf({ OPERATOR_KEYS: value })).toMatch(problem);
  });

  it('reads WEBHOOK_SOURCES, a name listed twice holding two secrets', () => {
    const secret = (n: number) => `secret-${n}-0123456789abcdef`;
    const { WEBHOOK_SOURCES } = loadConfig({
      WEBHOOK_SOURCES: `psp-a:${secret(1)},psp-b:${secret(2)},psp-a:${secret(3)}`,
    });
    expect(Object.fromEntries(WEBHOOK_SOURCES!)).toEqual({
      'psp-a': [secret(1), secret(3)],
      'psp-b': [secret(2)],
    });
    expect(problemOf({ WEBHOOK_SOURCES: 'psp-a:short' })).toMatch(/at least 16 characters/);
    expect(problemOf({ WEBHOOK_SOURCES: `default:${secret(1)}` })).toMatch(/reserved/);
    expect(problemOf({ WEBHOOK_SOURCES: `PSP A:${secret(1)}` })).toMatch(/not name:secret/);
  });

  it('reads TRUST_PROXY as a hop count or a list of proxies, never "trust everyone"', () => {
    expect(loadConfig({ TRUST_PROXY: '1' }).TRUST_PROXY).toBe(1);
    expect(loadConfig({ TRUST_PROXY: 'loopback, 10.0.0.0/8' }).TRUST_PROXY).toEqual([
      'loopback',
      '10.0.0.0/8',
    ]);
    expect(problemOf({ TRUST_PROXY: 'true' })).toMatch(/hop count/);
    expect(problemOf({ TRUST_PROXY: 'example.com' })).toMatch(/hop count/);
  });

  it('defaults to open development settings that production start-up refuses', () => {
    expect(loadConfig({})).toMatchObject({ STATUS_REQUIRES_KEY: false, ALLOW_INSECURE: false });
    expect(loadConfig({}).OPERATOR_KEYS).toBeUndefined();
    expect(problemOf({ METRICS_TOKEN: 'short' })).toMatch(/at least 32 characters/);
  });
});
