import { signatureHeader, signPayload } from '@txhook/transactions';
import {
  getJson,
  openTestDatabase,
  postWebhook,
  requestJson,
  sampleWebhook,
  type TestDatabase,
} from '@txhook/test-kit';
import { MAX_JSON_DEPTH, nestsDeeperThan } from '../src/json-body';
import { expectErrorShape, serve, type Served } from './serve';

const SECRET = 'whsec_current_0123456789abcdef';
const PREVIOUS = 'whsec_previous_0123456789abcdef';
const WRONG = 'whsec_wrong_0123456789abcdef';
const UNAUTHORIZED = { error: { code: 'unauthorized', message: 'Invalid signature' } };
const KNOWN_FIELDS = [
  '_id',
  'amount',
  'attempts',
  'calls',
  'claims',
  'created_at',
  'currency',
  'destination_account',
  'due_at',
  'failed_at',
  'last_error',
  'lease_expires_at',
  'lease_owner',
  'lease_token',
  'processed_at',
  'source',
  'source_account',
  'status',
  'transaction_id',
  'unsettled_claims',
];

let database: TestDatabase;
let open: Served;
let signed: Served;
const count = (filter = {}) => database.repository.collection.countDocuments(filter);
const now = () => Math.floor(Date.now() / 1000);
/** The signed API's WEBHOOK_TOLERANCE_SECONDS (its default). */
const TOLERANCE_S = 300;
/**
 * A minute past the tolerance: the API reads its own clock (whole seconds) when the request
 * arrives, a second or more later whenever a second ends in between, which brought a future
 * timestamp of +301 back inside the tolerance in a CI run. The exact boundary (±301 s) is tested
 * with a fixed clock in packages/transactions/test/signature.test.ts.
 */
const OUTSIDE_TOLERANCE_S = TOLERANCE_S + 60;

beforeAll(async () => {
  database = await openTestDatabase('security');
  open = await serve(database.client, database.repository);
  signed = await serve(database.client, database.repository, {
    signature: { secrets: [SECRET, PREVIOUS], toleranceSeconds: TOLERANCE_S },
  });
});
afterAll(async () => {
  await open.close();
  await signed.close();
  await database.drop();
});

function postSigned(raw: string, header: string | undefined, contentType = 'application/json') {
  const headers: Record<string, string> = { 'content-type': contentType };
  if (header !== undefined) headers['x-signature'] = header;
  return postWebhook(signed.baseUrl, raw, headers);
}

describe('webhook signatures (WEBHOOK_SECRET set)', () => {
  it('accepts a correctly signed webhook and stores it', async () => {
    const body = sampleWebhook();
    const raw = JSON.stringify(body);
    const response = await postSigned(raw, signatureHeader(SECRET, raw));
    expect(response.status).toBe(202);
    expect(await count({ transaction_id: body.transaction_id })).toBe(1);
  });

  it('accepts the previous secret during a rotation, and a header with several v1 entries', async () => {
    const first = JSON.stringify(sampleWebhook());
    expect((await postSigned(first, signatureHeader(PREVIOUS, first))).status).toBe(202);
    const second = JSON.stringify(sampleWebhook());
    expect((await postSigned(second, signatureHeader([WRONG, SECRET], second))).status).toBe(202);
  });

  const refusals: [string, (raw: string) => string | undefined][] = [
    ['a wrong secret', (raw) => signatureHeader(WRONG, raw)],
    ['a tampered body', (raw) => signatureHeader(SECRET, raw.replace('125.50', '1.00'))],
    ['a stale timestamp (replay)', (raw) => signatureHeader(SECRET, raw, now() - OUTSIDE_TOLERANCE_S)],
    ['a timestamp in the future', (raw) => signatureHeader(SECRET, raw, now() + OUTSIDE_TOLERANCE_S)],
    ['a changed timestamp', (raw) => `t=${now() - 1},v1=${signPayload(SECRET, raw, now())}`],
    ['no header', () => undefined],
    ['an empty header', () => ''],
    ['a garbled header', () => 'sha256=deadbeef'],
    ['a header without timestamp', (raw) => `v1=${signPayload(SECRET, raw, now())}`],
    ['a truncated signature', (raw) => signatureHeader(SECRET, raw).slice(0, -2)],
  ];
  it.each(refusals)('refuses %s with a generic 401 and stores nothing', async (_name, makeHeader) => {
    const body = sampleWebhook();
    const raw = JSON.stringify(body);
    const response = await postSigned(raw, makeHeader(raw));
    expect(response.status).toBe(401);
    expect(response.body).toEqual(UNAUTHORIZED);
    expect(await count({ transaction_id: body.transaction_id })).toBe(0);
  });

  it('verifies the bytes as sent: the same JSON re-spaced no longer matches', async () => {
    const body = sampleWebhook();
    const raw = JSON.stringify(body);
    const response = await postSigned(JSON.stringify(body, null, 1), signatureHeader(SECRET, raw));
    expect(response.status).toBe(401);
    expect(await count({ transaction_id: body.transaction_id })).toBe(0);
  });

  it('checks the signature before anything else about the body', async () => {
    expect((await postSigned('not json', undefined, 'text/plain')).status).toBe(401);
    expect((await postSigned('{"broken":', undefined)).status).toBe(401);
    // Signed but malformed: the caller is known, so it learns what is wrong.
    expect((await postSigned('{"broken":', signatureHeader(SECRET, '{"broken":'))).status).toBe(400);
  });

  it('still answers 413 for an oversized body without hashing it', async () => {
    const raw = JSON.stringify({ ...sampleWebhook(), padding: 'x'.repeat(20_000) });
    const response = await postSigned(raw, signatureHeader(SECRET, raw));
    expect(response.status).toBe(413);
    expectErrorShape(response.body, 'payload_too_large');
  });

  it('leaves GET routes unsigned: they carry no body and reveal only what the id names', async () => {
    expect((await getJson(`${signed.baseUrl}/`)).status).toBe(200);
  });
});

describe('operator injection never reaches a query', () => {
  it.each([
    ['a $where body', { $where: 'sleep(1000) || true' }],
    ['a dotted key body', { 'a.b': 1 }],
    ['an operator as transaction_id', { ...sampleWebhook(), transaction_id: { $ne: null } }],
    ['an operator as account', { ...sampleWebhook(), source_account: { $gt: '' } }],
    ['an operator as amount', { ...sampleWebhook(), amount: { $gt: 0 } }],
    ['an operator as currency', { ...sampleWebhook(), currency: { $in: ['USD'] } }],
    ['an array as transaction_id', { ...sampleWebhook(), transaction_id: ['a', 'b'] }],
    ['a $-prefixed transaction_id', { ...sampleWebhook(), transaction_id: '$ne' }],
    ['a dotted transaction_id', { ...sampleWebhook(), transaction_id: 'a.b' }],
  ])('%s: 400 and nothing stored', async (_name, body) => {
    const before = await count();
    const response = await postWebhook(open.baseUrl, body);
    expect(response.status).toBe(400);
    expectErrorShape(response.body, 'validation_failed');
    expect(await count()).toBe(before);
    // Not a single document with an operator or a dotted name as a value or key was written.
    expect(await count({ transaction_id: { $not: /^[A-Za-z0-9_-]+$/ } })).toBe(0);
  });

  it.each([
    encodeURIComponent('{"$gt":""}'),
    encodeURIComponent('{"$ne":null}'),
    '%24where',
    'a.b',
    encodeURIComponent('x'.repeat(129)),
    '%E0%A4%A', // not a valid %-escape
  ])('GET /v1/transactions/%s is a 400 before any query', async (id) => {
    const response = await getJson(`${open.baseUrl}/v1/transactions/${id}`);
    expect(response.status).toBe(400);
    expect((response.body as { error: { code: string } }).error.code).toMatch(
      /^(invalid_transaction_id|bad_request)$/,
    );
    expectErrorShape(response.body, (response.body as { error: { code: string } }).error.code);
  });

  it('stores only the known fields: unknown ones, operators and dotted keys are dropped', async () => {
    const body = sampleWebhook();
    const raw = JSON.stringify({
      ...body,
      $where: 'sleep(1000)',
      $set: { status: 'PROCESSED' },
      'a.b': 1,
      status: 'PROCESSED',
      attempts: 99,
      lease_token: 'mine',
      metadata: { nested: { deeper: [1, 2, 3] } },
      __proto__: { polluted: true },
    });
    const response = await postWebhook<{ status: string; attempts: number }>(open.baseUrl, raw);
    expect(response.status).toBe(202);
    expect(response.body).toMatchObject({ status: 'PROCESSING', attempts: 0 });
    const stored = await database.repository.collection.findOne({ transaction_id: body.transaction_id });
    expect(Object.keys(stored!).sort()).toEqual(KNOWN_FIELDS);
    expect(stored).toMatchObject({ status: 'PROCESSING', attempts: 0, lease_token: null });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('limits and hostile bodies', () => {
  it('counts nesting outside strings only', () => {
    expect(nestsDeeperThan('['.repeat(MAX_JSON_DEPTH) + ']'.repeat(MAX_JSON_DEPTH), MAX_JSON_DEPTH)).toBe(
      false,
    );
    expect(nestsDeeperThan('['.repeat(MAX_JSON_DEPTH + 1), MAX_JSON_DEPTH)).toBe(true);
    expect(nestsDeeperThan(`{"a":"${'['.repeat(100)}\\"${'{'.repeat(100)}"}`, MAX_JSON_DEPTH)).toBe(false);
  });

  it('answers 400, not a crash, for 100,000-deep nesting within a 1 MB limit', async () => {
    const big = await serve(database.client, database.repository, { bodyLimitBytes: 1_048_576 });
    try {
      const before = await count();
      for (const raw of [
        '['.repeat(100_000) + ']'.repeat(100_000),
        '{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000),
        '['.repeat(200_000), // unbalanced as well
      ]) {
        const response = await postWebhook(big.baseUrl, raw);
        expect(response.status).toBe(400);
        expectErrorShape(response.body, 'invalid_json');
      }
      expect(await count()).toBe(before);
      expect((await getJson(`${big.baseUrl}/`)).status).toBe(200);
    } finally {
      await big.close();
    }
  });

  it('accepts unknown fields nested within the depth limit', async () => {
    let nested: unknown = 'leaf';
    for (let i = 0; i < MAX_JSON_DEPTH - 2; i++) nested = { n: nested };
    const response = await postWebhook(open.baseUrl, { ...sampleWebhook(), metadata: nested });
    expect(response.status).toBe(202);
  });

  it('refuses duplicate keys and control characters as invalid JSON, not a 500', async () => {
    const body = sampleWebhook();
    for (const raw of [
      JSON.stringify(body).replace('{', '{"transaction_id":"other",'),
      JSON.stringify(body).replace('acc-dest-2', 'acc\u0000dest'),
      '\uFEFF' + JSON.stringify(body),
      '{"amount": NaN}',
      '{"amount": 1e99999}',
    ]) {
      const response = await postWebhook(open.baseUrl, raw);
      expect(response.status).toBe(400);
    }
  });
});

describe('HTTP hygiene', () => {
  it('sends security headers on success and on errors, and no x-powered-by', async () => {
    const responses = [
      await postWebhook(open.baseUrl, sampleWebhook()),
      await getJson(`${open.baseUrl}/nope`),
      await postWebhook(open.baseUrl, '{', { 'content-type': 'application/json' }),
    ];
    for (const response of responses) {
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('strict-transport-security')).toMatch(/max-age=\d+/);
      expect(response.headers.get('content-security-policy')).toContain("default-src 'self'");
      expect(response.headers.get('x-frame-options')).toBe('SAMEORIGIN');
      expect(response.headers.get('x-powered-by')).toBeNull();
    }
  });

  it.each([
    ['DELETE', '/v1/webhooks/transactions', 'POST, OPTIONS'],
    ['GET', '/v1/webhooks/transactions', 'POST, OPTIONS'],
    ['PUT', '/v1/transactions/tx-1', 'GET, HEAD, OPTIONS'],
    ['POST', '/v1/transactions/tx-1', 'GET, HEAD, OPTIONS'],
    ['POST', '/', 'GET, HEAD, OPTIONS'],
    ['PATCH', '/openapi.json', 'GET, HEAD, OPTIONS'],
  ])('%s %s is a 405 with Allow: %s', async (method, path, allow) => {
    const response = await requestJson(`${open.baseUrl}${path}`, { method });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe(allow);
    expectErrorShape(response.body, 'method_not_allowed');
  });

  it('answers OPTIONS with 204 and Allow, and HEAD like GET', async () => {
    const options = await fetch(`${open.baseUrl}/v1/webhooks/transactions`, { method: 'OPTIONS' });
    expect(options.status).toBe(204);
    expect(options.headers.get('allow')).toBe('POST, OPTIONS');
    const head = await fetch(`${open.baseUrl}/`, { method: 'HEAD' });
    expect(head.status).toBe(200);
  });
});

describe('rate limit (RATE_LIMIT_PER_MINUTE set)', () => {
  it('answers 429 in the one error shape with Retry-After past the limit', async () => {
    const limited = await serve(database.client, database.repository, { rateLimitPerMinute: 5 });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++)
        statuses.push((await getJson(`${limited.baseUrl}/v1/transactions/none`)).status);
      expect(statuses).toEqual([404, 404, 404, 404, 404]);
      const refused = await postWebhook(limited.baseUrl, sampleWebhook());
      expect(refused.status).toBe(429);
      expect(refused.body).toEqual({
        error: { code: 'rate_limited', message: 'Too many requests, retry later' },
      });
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(refused.headers.get('ratelimit-policy')).toContain('q=5');
    } finally {
      await limited.close();
    }
  });

  it('is off by default', async () => {
    const statuses = await Promise.all(
      Array.from({ length: 50 }, () => getJson(`${open.baseUrl}/v1/transactions/none`).then((r) => r.status)),
    );
    expect(new Set(statuses)).toEqual(new Set([404]));
  });
});
