/**
 * Fail closed: the API process started for real. In production it refuses to start without
 * webhook secrets or operator keys, naming the variable; ALLOW_INSECURE=true starts it with loud
 * warnings; development starts open and says so.
 */
import { createHash, randomBytes } from 'node:crypto';
import { type AppProcess, e2eEnv, requestJson, startApi, startApp, stopAll } from '@txhook/test-kit';

const token = `txk_${randomBytes(32).toString('base64url')}`;
const OPERATOR_KEYS = `ops:operate:${createHash('sha256').update(token).digest('hex')}`;
const WEBHOOK_SECRET = 'whsec_startup_0123456789abcdef';
const env = e2eEnv('startup');
const processes: AppProcess[] = [];
afterAll(() => stopAll(processes));

async function refusedStart(overrides: Record<string, string>): Promise<string> {
  const api = startApp('api', { ...env, PORT: '0', NODE_ENV: 'production', ...overrides });
  processes.push(api);
  const { code } = await api.exited;
  expect(code).toBe(1);
  // It stopped before listening, and before anything else was logged.
  expect(api.logsWith('api listening')).toEqual([]);
  return api.rawOutput.join('\n');
}

describe('NODE_ENV=production', () => {
  it('refuses to start without WEBHOOK_SECRET and OPERATOR_KEYS, naming both', async () => {
    const output = await refusedStart({});
    expect(output).toMatch(/WEBHOOK_SECRET \(or WEBHOOK_SOURCES\) is not set/);
    expect(output).toMatch(/OPERATOR_KEYS is not set/);
    expect(output).toMatch(/ALLOW_INSECURE=true/);
  });

  it('names only what is missing', async () => {
    const output = await refusedStart({ WEBHOOK_SECRET });
    expect(output).toMatch(/OPERATOR_KEYS is not set/);
    expect(output).not.toMatch(/WEBHOOK_SECRET/);
    const other = await refusedStart({ OPERATOR_KEYS });
    expect(other).toMatch(/WEBHOOK_SECRET \(or WEBHOOK_SOURCES\) is not set/);
    expect(other).not.toMatch(/OPERATOR_KEYS/);
  });

  it('accepts per-source secrets instead of WEBHOOK_SECRET, and refuses a malformed key list', async () => {
    const output = await refusedStart({
      OPERATOR_KEYS: 'ops:admin:abc',
      WEBHOOK_SOURCES: `psp-a:${WEBHOOK_SECRET}`,
    });
    expect(output).toMatch(/OPERATOR_KEYS: key ops: role must be read or operate/);
  });

  it('starts with secrets and keys, and then protects the operator routes', async () => {
    const { api, baseUrl } = await startApi({
      ...env,
      NODE_ENV: 'production',
      WEBHOOK_SECRET,
      OPERATOR_KEYS,
    });
    processes.push(api);
    const banner = api.logsWith('api listening')[0]!;
    expect(banner).toMatchObject({ operator_auth: 'on (1 key(s))', status_route: 'public' });
    expect(String(banner.signatures)).toMatch(/^on /);
    expect((await requestJson(`${baseUrl}/v1/stats`)).status).toBe(401);
    expect(
      (await requestJson(`${baseUrl}/v1/stats`, { headers: { authorization: `Bearer ${token}` } })).status,
    ).toBe(200);
    await api.stop();
  });

  it('starts with ALLOW_INSECURE=true, logging each missing protection at error level', async () => {
    const { api, baseUrl } = await startApi({ ...env, NODE_ENV: 'production', ALLOW_INSECURE: 'true' });
    processes.push(api);
    const insecure = api.logs.filter((line) =>
      String(line.message).startsWith('INSECURE (ALLOW_INSECURE=true)'),
    );
    expect(insecure.map((line) => line.level)).toEqual(['error', 'error']);
    expect(api.logsWith('api listening')[0]).toMatchObject({
      signatures: 'OFF: unsigned webhooks are accepted',
      operator_auth: 'OFF: every operator route is open',
    });
    expect((await requestJson(`${baseUrl}/v1/stats`)).status).toBe(200);
    await api.stop();
  });
});

it('development starts open and says so in its banner', async () => {
  const { api } = await startApi({ ...env, NODE_ENV: 'development', LOG_FORMAT: 'json' });
  processes.push(api);
  expect(api.logsWith('api listening')[0]).toMatchObject({
    operator_auth: 'OFF: every operator route is open',
  });
  expect(
    api.logs.some((line) => String(line.message).startsWith('development mode: OPERATOR_KEYS is not set')),
  ).toBe(true);
  await api.stop();
});
