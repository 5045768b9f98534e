import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { signatureHeader } from '@txhook/transactions';
import { openTestDatabase, sampleWebhook, type TestDatabase } from '@txhook/test-kit';
import { loadApiConfig } from '../src/config';
import { serve, type Served } from './serve';

const whsec = () => `whsec_${randomBytes(24).toString('base64')}`;
const DEFAULT_SECRET = whsec();
const PSP_A = [whsec(), whsec()];
const PSP_B = whsec();
const config = loadApiConfig({
  WEBHOOK_SECRET: DEFAULT_SECRET,
  WEBHOOK_SOURCES: `psp-a:${PSP_A[0]},psp-b:${PSP_B},psp-a:${PSP_A[1]}`,
});
const UNAUTHORIZED = { error: { code: 'unauthorized', message: 'Invalid signature' } };

let database: TestDatabase;
let api: Served;
beforeAll(async () => {
  database = await openTestDatabase('sources');
  api = await serve(database.client, database.repository, {
    signature: { secrets: config.WEBHOOK_SECRET, sources: config.WEBHOOK_SOURCES, toleranceSeconds: 300 },
  });
});
afterAll(async () => {
  await api.close();
  await database.drop();
});

const pathOf = (source?: string) =>
  source ? `/v1/webhooks/${source}/transactions` : '/v1/webhooks/transactions';
/** Signed by the reference Standard Webhooks implementation, not by our code. */
function standardHeaders(secret: string, raw: string): Record<string, string> {
  const id = `msg_${randomBytes(6).toString('hex')}`;
  const now = new Date();
  return {
    'content-type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
    'webhook-signature': new Webhook(secret).sign(id, now, raw),
  };
}
const post = (source: string | undefined, raw: string, headers: Record<string, string>) =>
  fetch(`${api.baseUrl}${pathOf(source)}`, { method: 'POST', headers, body: raw }).then(async (r) => ({
    status: r.status,
    body: await r.json(),
  }));
const stored = (id: string) => database.repository.findByTransactionId(id);

describe('Standard Webhooks over HTTP', () => {
  it('accepts a webhook signed by the reference implementation, and stores it once', async () => {
    const body = sampleWebhook();
    const raw = JSON.stringify(body);
    const response = await post(undefined, raw, standardHeaders(DEFAULT_SECRET, raw));
    expect(response.status).toBe(202);
    expect(response.body).toMatchObject({ transaction_id: body.transaction_id, source: 'default' });
    expect((await stored(body.transaction_id))?.source).toBe('default');
  });

  it('refuses a tampered body or another secret with the one 401, storing nothing', async () => {
    const body = sampleWebhook();
    const raw = JSON.stringify(body);
    const tampered = await post(
      undefined,
      raw.replace('125.50', '1.00'),
      standardHeaders(DEFAULT_SECRET, raw),
    );
    expect(tampered).toEqual({ status: 401, body: UNAUTHORIZED });
    expect((await post(undefined, raw, standardHeaders(PSP_B, raw))).status).toBe(401);
    expect(await stored(body.transaction_id)).toBeNull();
  });
});

describe('per-source secrets (WEBHOOK_SOURCES)', () => {
  it("accepts each source's own secrets (both while rotating) at its path and stores the source", async () => {
    for (const secret of PSP_A) {
      const body = sampleWebhook();
      const raw = JSON.stringify(body);
      const response = await post('psp-a', raw, standardHeaders(secret, raw));
      expect(response.status).toBe(202);
      expect((await stored(body.transaction_id))?.source).toBe('psp-a');
    }
    const body = sampleWebhook();
    const raw = JSON.stringify(body);
    const xSignature = await post('psp-b', raw, {
      'content-type': 'application/json',
      'x-signature': signatureHeader(PSP_B, raw),
    });
    expect(xSignature.status).toBe(202);
    expect((await stored(body.transaction_id))?.source).toBe('psp-b');
  });

  it.each([
    ["another source's secret", 'psp-a', () => PSP_B],
    ['the default secret on a source path', 'psp-a', () => DEFAULT_SECRET],
    ["a source's secret on the default path", undefined, () => PSP_A[0]!],
    ['an unknown source', 'psp-z', () => PSP_B],
  ])('refuses %s with the same 401', async (_name, source, secret) => {
    const body = sampleWebhook();
    const raw = JSON.stringify(body);
    expect(await post(source, raw, standardHeaders(secret(), raw))).toEqual({
      status: 401,
      body: UNAUTHORIZED,
    });
    expect(await stored(body.transaction_id)).toBeNull();
  });

  it('keeps idempotency per transaction_id across sources: the same id from another source is a 409', async () => {
    const body = sampleWebhook();
    const raw = JSON.stringify(body);
    expect((await post('psp-a', raw, standardHeaders(PSP_A[0]!, raw))).status).toBe(202);
    expect((await post('psp-a', raw, standardHeaders(PSP_A[1]!, raw))).status).toBe(200);
    const fromB = await post('psp-b', raw, standardHeaders(PSP_B, raw));
    expect(fromB.status).toBe(409);
    expect(await database.repository.collection.countDocuments({ transaction_id: body.transaction_id })).toBe(
      1,
    );
    expect((await stored(body.transaction_id))?.source).toBe('psp-a');
  });

  it('answers 404 for a path segment that cannot be a source name', async () => {
    const raw = JSON.stringify(sampleWebhook());
    expect((await post('PSP%20A', raw, standardHeaders(PSP_B, raw))).status).toBe(404);
  });
});
