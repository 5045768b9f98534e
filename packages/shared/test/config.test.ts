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
});
