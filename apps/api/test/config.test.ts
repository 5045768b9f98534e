import { ConfigError, databaseCallDeadlineMs } from '@txhook/platform';
import { loadApiConfig, shutdownDeadlineMs, shutdownGraceMs } from '../src/config';

describe('loadApiConfig', () => {
  it('applies the documented defaults', () => {
    expect(loadApiConfig({})).toMatchObject({
      PORT: 3000,
      MONGODB_DB: 'txhook',
      BODY_LIMIT_BYTES: 16_384,
      SHUTDOWN_DRAIN_DELAY_MS: 0,
      WARM_UP_REQUESTS: 1_000,
      NEW_CONNECTION_QUIET_MS: 2,
      LOG_LEVEL: 'info',
    });
  });

  it('holds new connections for 0-20 ms of quiet (0 = not at all)', () => {
    expect(loadApiConfig({ NEW_CONNECTION_QUIET_MS: '0' }).NEW_CONNECTION_QUIET_MS).toBe(0);
    expect(loadApiConfig({ NEW_CONNECTION_QUIET_MS: '20' }).NEW_CONNECTION_QUIET_MS).toBe(20);
    expect(() => loadApiConfig({ NEW_CONNECTION_QUIET_MS: '21' })).toThrow(ConfigError);
    expect(() => loadApiConfig({ NEW_CONNECTION_QUIET_MS: '-1' })).toThrow(ConfigError);
  });

  it('starts whatever the worker-only settings say (they are not its settings)', () => {
    expect(() =>
      loadApiConfig({ LEASE_MS: '10', EXTERNAL_CALL_TIMEOUT_MS: '5', POLL_INTERVAL_MS: 'soon' }),
    ).not.toThrow();
    expect(loadApiConfig({ LEASE_MS: '5000' })).not.toHaveProperty('LEASE_MS');
  });

  it('drains for 10 s by default, and waits for the drain delay, the grace and closing the pool', () => {
    const config = loadApiConfig({});
    expect(shutdownGraceMs(config)).toBe(10_000);
    expect(shutdownDeadlineMs(config)).toBe(15_000);
    const slow = loadApiConfig({ SHUTDOWN_DRAIN_DELAY_MS: '3000', SHUTDOWN_GRACE_MS: '0' });
    expect(shutdownGraceMs(slow)).toBe(0);
    expect(shutdownDeadlineMs(slow)).toBe(8_000);
  });

  it('gives a webhook two database round trips to be stored before it answers 503', () => {
    expect(databaseCallDeadlineMs(loadApiConfig({}))).toBe(10_000);
    expect(databaseCallDeadlineMs(loadApiConfig({ MONGODB_TIMEOUT_MS: '1500' }))).toBe(3_000);
  });
});

describe('loadApiConfig: security settings', () => {
  const secret = 'a'.repeat(32);

  it('leaves signatures and rate limiting off by default, with a 300 s tolerance', () => {
    const config = loadApiConfig({});
    expect(config.WEBHOOK_SECRET).toBeUndefined();
    expect(config.RATE_LIMIT_PER_MINUTE).toBeUndefined();
    expect(config.WEBHOOK_TOLERANCE_SECONDS).toBe(300);
  });

  it('splits WEBHOOK_SECRET on commas for rotation', () => {
    const config = loadApiConfig({ WEBHOOK_SECRET: ` ${secret} ,${'b'.repeat(20)},` });
    expect(config.WEBHOOK_SECRET).toEqual([secret, 'b'.repeat(20)]);
  });

  it('refuses short secrets without printing them', () => {
    expect(() => loadApiConfig({ WEBHOOK_SECRET: `${secret},hunter2` })).toThrow(
      /WEBHOOK_SECRET.*16 characters/,
    );
    expect(() => loadApiConfig({ WEBHOOK_SECRET: `${secret},hunter2` })).not.toThrow(/hunter2/);
    expect(() => loadApiConfig({ WEBHOOK_SECRET: ',' })).toThrow(ConfigError);
  });

  it('reads the tolerance and the rate limit', () => {
    expect(loadApiConfig({ WEBHOOK_TOLERANCE_SECONDS: '60', RATE_LIMIT_PER_MINUTE: '120' })).toMatchObject({
      WEBHOOK_TOLERANCE_SECONDS: 60,
      RATE_LIMIT_PER_MINUTE: 120,
    });
    expect(() => loadApiConfig({ RATE_LIMIT_PER_MINUTE: '0' })).toThrow(ConfigError);
    expect(() => loadApiConfig({ WEBHOOK_TOLERANCE_SECONDS: '-5' })).toThrow(ConfigError);
  });
});

describe('access-control settings', () => {
  const hex = 'ab'.repeat(32);
  const problemOf = (env: Record<string, string>) => {
    try {
      loadApiConfig(env);
    } catch (error) {
      return (error as ConfigError).message;
    }
    return undefined;
  };

  it('reads OPERATOR_KEYS as names, roles and SHA-256 digests', () => {
    const { OPERATOR_KEYS } = loadApiConfig({
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
    const { WEBHOOK_SOURCES } = loadApiConfig({
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
    expect(loadApiConfig({ TRUST_PROXY: '1' }).TRUST_PROXY).toBe(1);
    expect(loadApiConfig({ TRUST_PROXY: 'loopback, 10.0.0.0/8' }).TRUST_PROXY).toEqual([
      'loopback',
      '10.0.0.0/8',
    ]);
    expect(problemOf({ TRUST_PROXY: 'true' })).toMatch(/hop count/);
    expect(problemOf({ TRUST_PROXY: 'example.com' })).toMatch(/hop count/);
  });

  it('defaults to open development settings that production start-up refuses', () => {
    expect(loadApiConfig({})).toMatchObject({ STATUS_REQUIRES_KEY: false, ALLOW_INSECURE: false });
    expect(loadApiConfig({}).OPERATOR_KEYS).toBeUndefined();
    expect(problemOf({ METRICS_TOKEN: 'short' })).toMatch(/at least 32 characters/);
  });
});
