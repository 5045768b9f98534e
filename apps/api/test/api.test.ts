import { MongoClient } from 'mongodb';
import { TransactionStore } from '@txhook/transactions';
import {
  getJson,
  openTestDatabase,
  postWebhook,
  requestJson,
  sampleWebhook,
  type TestDatabase,
} from '@txhook/test-kit';
import { expectErrorShape, serve, type Served } from './serve';

interface View {
  transaction_id: string;
  status: string;
  amount: string;
  created_at: string;
  processed_at: string | null;
}

let database: TestDatabase;
let served: Served;
let baseUrl: string;
const count = (filter = {}) => database.repository.collection.countDocuments(filter);

beforeAll(async () => {
  database = await openTestDatabase('api');
  served = await serve(database.client, database.repository);
  baseUrl = served.baseUrl;
});
afterAll(async () => {
  await served.close();
  await database.drop();
});

describe('GET /', () => {
  it('is HEALTHY with the current time when the database answers', async () => {
    const before = Date.now();
    const response = await getJson<{ status: string; current_time: string }>(`${baseUrl}/`);
    expect(response.status).toBe(200);
    expect(response.body.status).toBe('HEALTHY');
    expect(response.body.current_time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(Date.parse(response.body.current_time)).toBeGreaterThanOrEqual(before - 1_000);
    expect(response.headers.get('x-powered-by')).toBeNull();
  });
});

describe('POST /v1/webhooks/transactions', () => {
  it('answers 202 with the PROCESSING record and stores it', async () => {
    const body = sampleWebhook({ amount: 10.5 });
    const response = await postWebhook<View>(baseUrl, body);
    expect(response.status).toBe(202);
    expect(response.body).toMatchObject({
      transaction_id: body.transaction_id,
      source_account: body.source_account,
      destination_account: body.destination_account,
      amount: '10.50',
      currency: 'USD',
      status: 'PROCESSING',
      processed_at: null,
    });
    const stored = await database.repository.findByTransactionId(body.transaction_id);
    expect(stored?.status).toBe('PROCESSING');
    expect(stored?.created_at.toISOString()).toBe(response.body.created_at);
  });

  it('acknowledges well within 500 ms (contractual bound, no worker involved)', async () => {
    const timings: number[] = [];
    for (let i = 0; i < 20; i++) {
      const response = await postWebhook(baseUrl, sampleWebhook());
      expect(response.status).toBe(202);
      timings.push(response.elapsedMs);
    }
    expect(Math.max(...timings)).toBeLessThan(500);
  });

  it('keeps the amount exact: digits a binary float would change come back unchanged', async () => {
    const body = sampleWebhook();
    const raw = JSON.stringify(body).replace(`"amount":"125.50"`, `"amount":123456789012345.67`);
    const response = await postWebhook<View>(baseUrl, raw);
    expect(response.status).toBe(202);
    expect(response.body.amount).toBe('123456789012345.67');
    const stored = await database.repository.findByTransactionId(body.transaction_id);
    expect(stored?.amount.toString()).toBe('123456789012345.67');
  });

  it('answers a redelivery with the same record and stores nothing new', async () => {
    const body = sampleWebhook();
    const first = await postWebhook<View>(baseUrl, body);
    const second = await postWebhook<View>(baseUrl, { ...body, amount: '125.5' });
    expect(first.status).toBe(202);
    expect(second.status).toBe(200);
    expect(second.body).toEqual(first.body);
    expect(await count({ transaction_id: body.transaction_id })).toBe(1);
  });

  it('stores one record when 30 identical deliveries arrive at once', async () => {
    const body = sampleWebhook();
    const responses = await Promise.all(Array.from({ length: 30 }, () => postWebhook(baseUrl, body)));
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 202)).toHaveLength(1);
    expect(statuses.filter((s) => s === 200)).toHaveLength(29);
    expect(await count({ transaction_id: body.transaction_id })).toBe(1);
  });

  it('answers 409 when the same transaction_id comes with other content, and keeps the original', async () => {
    const body = sampleWebhook();
    await postWebhook(baseUrl, body);
    const changed = await postWebhook(baseUrl, { ...body, destination_account: 'acc-other' });
    expect(changed.status).toBe(409);
    expectErrorShape(changed.body, 'conflict');
    const stored = await database.repository.findByTransactionId(body.transaction_id);
    expect(stored?.destination_account).toBe(body.destination_account);
  });

  it('answers 400 with field-level details and stores nothing', async () => {
    const before = await count();
    const response = await postWebhook<{ error: { details: { field: string }[] } }>(baseUrl, {
      transaction_id: { $gt: '' },
      source_account: 'acc-1',
      destination_account: 'acc-1',
      amount: '-3',
      currency: 'usd',
    });
    expect(response.status).toBe(400);
    expectErrorShape(response.body, 'validation_failed');
    const fields = response.body.error.details.map((d) => d.field).sort();
    expect(fields).toEqual(expect.arrayContaining(['amount', 'currency', 'transaction_id']));
    expect(await count()).toBe(before);
  });

  it.each([
    ['malformed JSON', '{"transaction_id": "x", ', 'application/json', 400, 'invalid_json'],
    ['an empty body', '', 'application/json', 400, 'invalid_json'],
    ['a JSON array', '[1,2,3]', 'application/json', 400, 'validation_failed'],
    ['a JSON string', '"hello"', 'application/json', 400, 'validation_failed'],
    ['text/plain', JSON.stringify(sampleWebhook()), 'text/plain', 415, 'unsupported_media_type'],
    ['form data', 'a=1&b=2', 'application/x-www-form-urlencoded', 415, 'unsupported_media_type'],
    [
      'a prototype-pollution attempt',
      '{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}',
      'application/json',
      400,
      'validation_failed',
    ],
    ['deep nesting', '['.repeat(5_000) + ']'.repeat(5_000), 'application/json', 400, undefined],
  ])('rejects %s with a JSON error and stores nothing', async (_name, raw, contentType, status, code) => {
    const before = await count();
    const response = await postWebhook(baseUrl, raw, { 'content-type': contentType });
    expect(response.status).toBe(status);
    expectErrorShape(response.body, code ?? (response.body as { error: { code: string } }).error.code);
    expect(await count()).toBe(before);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('answers 413 for a body over the limit', async () => {
    const big = JSON.stringify({ ...sampleWebhook(), padding: 'x'.repeat(20_000) });
    const response = await postWebhook(baseUrl, big);
    expect(response.status).toBe(413);
    expectErrorShape(response.body, 'payload_too_large');
  });
});

describe('GET /v1/transactions/:transaction_id', () => {
  it('returns the record with ISO 8601 UTC timestamps', async () => {
    const body = sampleWebhook({ currency: 'JPY', amount: '1500' });
    await postWebhook(baseUrl, body);
    const response = await getJson<View>(`${baseUrl}/v1/transactions/${body.transaction_id}`);
    expect(response.status).toBe(200);
    expect(Object.keys(response.body).sort()).toEqual([
      'amount',
      'attempts',
      'calls',
      'claims',
      'created_at',
      'currency',
      'destination_account',
      'failed_at',
      'last_error',
      'next_attempt_at',
      'processed_at',
      'requeued_at',
      'requeued_by',
      'source',
      'source_account',
      'status',
      'transaction_id',
    ]);
    expect(response.body).toMatchObject({ amount: '1500', status: 'PROCESSING', processed_at: null });
    expect(response.body.created_at).toMatch(/Z$/);
  });

  it('answers 404 for an unknown transaction and 400 for an impossible id', async () => {
    const missing = await getJson(`${baseUrl}/v1/transactions/does-not-exist`);
    expect(missing.status).toBe(404);
    expectErrorShape(missing.body, 'not_found');
    const invalid = await getJson(`${baseUrl}/v1/transactions/${encodeURIComponent('{"$gt":""}')}`);
    expect(invalid.status).toBe(400);
    expectErrorShape(invalid.body, 'invalid_transaction_id');
  });

  it('answers 404 in the same JSON shape for unknown routes', async () => {
    const response = await getJson(`${baseUrl}/nope`);
    expect(response.status).toBe(404);
    expectErrorShape(response.body, 'not_found');
  });
});

describe('POST /v1/transactions/:transaction_id/retry', () => {
  const retry = (id: string) =>
    requestJson<View & { last_error: string | null }>(`${baseUrl}/v1/transactions/${id}/retry`, {
      method: 'POST',
      // Operator POSTs need a JSON content type (no cross-site "simple request" can send one).
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });

  it('puts a FAILED record back in line once; repeating it changes nothing', async () => {
    const body = sampleWebhook();
    await postWebhook(baseUrl, body);
    await database.repository.collection.updateOne(
      { transaction_id: body.transaction_id },
      { $set: { status: 'FAILED', attempts: 5, last_error: 'boom', failed_at: new Date() } },
    );
    const failedView = await getJson<View & { last_error: string }>(
      `${baseUrl}/v1/transactions/${body.transaction_id}`,
    );
    expect(failedView.body).toMatchObject({ status: 'FAILED', attempts: 5, last_error: 'boom' });

    const first = await retry(body.transaction_id);
    expect(first.status).toBe(202);
    // The old error goes with the old budget: the record is due now, not waiting for a retry.
    expect(first.body).toMatchObject({
      status: 'PROCESSING',
      attempts: 0,
      last_error: null,
      next_attempt_at: null,
      requeued_by: 'anonymous',
    });
    const second = await retry(body.transaction_id);
    expect(second.status).toBe(200);
    expect(second.body.status).toBe('PROCESSING');
    expect(await count({ transaction_id: body.transaction_id })).toBe(1);
  });

  it('refuses a PROCESSED record with 409 and answers 404 for an unknown one', async () => {
    const body = sampleWebhook();
    await postWebhook(baseUrl, body);
    await database.repository.collection.updateOne(
      { transaction_id: body.transaction_id },
      { $set: { status: 'PROCESSED', processed_at: new Date() } },
    );
    const processed = await retry(body.transaction_id);
    expect(processed.status).toBe(409);
    expectErrorShape(processed.body, 'already_processed');
    const stored = await database.repository.findByTransactionId(body.transaction_id);
    expect(stored?.status).toBe('PROCESSED');
    const missing = await retry('never-seen');
    expect(missing.status).toBe(404);
  });
});

describe('when the database does not answer', () => {
  let downClient: MongoClient;
  let down: Served;

  beforeAll(async () => {
    // Nothing listens on port 1: every operation fails server selection.
    downClient = new MongoClient('mongodb://127.0.0.1:1', { serverSelectionTimeoutMS: 300 });
    down = await serve(downClient, new TransactionStore(downClient.db('none')));
  });
  afterAll(async () => {
    await down.close();
    await downClient.close();
  });

  it('health is 503 UNHEALTHY', async () => {
    const response = await getJson<{ status: string }>(`${down.baseUrl}/`);
    expect(response.status).toBe(503);
    expect(response.body.status).toBe('UNHEALTHY');
  });

  it('a webhook gets 503 with Retry-After, never a 202 for something unstored', async () => {
    const response = await postWebhook(down.baseUrl, sampleWebhook());
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toMatch(/^\d+$/);
    expectErrorShape(response.body, 'unavailable');
  });
});
