import { z } from 'zod';
import { commonConfigShape, ConfigError, parseEnvironment, wholeNumber } from '@txhook/platform';
import { retentionConfigShape } from '../src/retention';

// The pieces every app's schema is built from, in a schema of their own (as an app builds one).
const schema = z.object({ ...commonConfigShape, ...retentionConfigShape, PORT: wholeNumber(0, 65535, 3000) });
const load = (env: NodeJS.ProcessEnv) => parseEnvironment(schema, env);

describe('parseEnvironment with the common settings', () => {
  it('applies the documented defaults', () => {
    expect(load({})).toMatchObject({
      NODE_ENV: 'development',
      MONGODB_URL: 'mongodb://127.0.0.1:27017',
      MONGODB_DB: 'txhook',
      MONGODB_WRITE_CONCERN: 'majority',
      MONGODB_JOURNAL: true,
      MONGODB_TIMEOUT_MS: 5_000,
      LOG_LEVEL: 'info',
      RETENTION_DAYS: 30,
    });
    expect(load({}).SHUTDOWN_GRACE_MS).toBeUndefined();
  });

  it('reads numbers from strings, and an empty value as unset', () => {
    expect(load({ PORT: '8080', MONGODB_TIMEOUT_MS: '' })).toMatchObject({
      PORT: 8080,
      MONGODB_TIMEOUT_MS: 5_000,
    });
  });

  it('names every bad variable in one error', () => {
    let thrown: unknown;
    try {
      load({ PORT: 'eighty', MONGODB_URL: 'http://x', LOG_LEVEL: 'loud' });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    const message = (thrown as ConfigError).message;
    expect(message).toContain('PORT');
    expect(message).toContain('MONGODB_URL');
    expect(message).toContain('LOG_LEVEL');
  });

  it('refuses an unacknowledged write concern (w: 0), which would turn off idempotency and fencing', () => {
    for (const w of ['0', '00']) {
      expect(() => load({ MONGODB_WRITE_CONCERN: w })).toThrow(
        /MONGODB_WRITE_CONCERN: .*unacknowledged.*duplicate/,
      );
    }
  });

  it('accepts majority and one or more nodes as write concern', () => {
    for (const w of ['majority', '1', '3']) {
      expect(load({ MONGODB_WRITE_CONCERN: w }).MONGODB_WRITE_CONCERN).toBe(w);
    }
  });
});
