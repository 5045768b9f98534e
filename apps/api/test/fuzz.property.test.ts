/**
 * Property-based fuzzing of POST /v1/webhooks/transactions over real HTTP against the real
 * database: valid bodies (built valid) are always 202 and stored; mutated and garbage bodies are
 * never a 5xx, are answered as the contract says, and are never stored.
 * FUZZ_BODIES (default 10,000) and FUZZ_SEED (to replay a failure) tune a run.
 */
import fc from 'fast-check';
import { parse as parseLossless } from 'lossless-json';
import {
  minorUnitsOf,
  signatureHeader,
  supportedCurrencies,
  transactionWebhookSchema,
} from '@txhook/transactions';
import { mapLimit, openTestDatabase, postWebhook, type TestDatabase } from '@txhook/test-kit';
import { MAX_JSON_DEPTH, nestsDeeperThan } from '../src/json-body';
import { serve, type Served } from './serve';

const BODIES = Number(process.env.FUZZ_BODIES ?? 10_000);
const BATCH = 50;
const CONCURRENCY = 16;
const LIMIT = 16_384;
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined;
const SECRET = 'whsec_fuzz_0123456789abcdef';

jest.setTimeout(300_000);

let database: TestDatabase;
let served: Served;
let signed: Served;
let sequence = 0;
/** Makes each generated id unique, so a valid body is always new (202), never a redelivery. */
const unique = (prefix: string) => `${prefix}-${(sequence++).toString(36)}`;

beforeAll(async () => {
  database = await openTestDatabase('fuzz');
  served = await serve(database.client, database.repository, { bodyLimitBytes: LIMIT });
  signed = await serve(database.client, database.repository, {
    bodyLimitBytes: LIMIT,
    signature: { secrets: [SECRET], toleranceSeconds: 300 },
  });
});
afterAll(async () => {
  await served.close();
  await signed.close();
  await database.drop();
});

// --- generators -------------------------------------------------------------------------------

const currencies = supportedCurrencies();
const idPrefix = fc.stringMatching(/^[A-Za-z0-9_-]{1,100}$/);
const account = fc.stringMatching(/^[A-Za-z0-9_.:-]{1,64}$/);

/** A valid amount for `currency` as decimal text: > 0, ≤ 15 integer digits, ≤ minor units. */
const amountFor = (currency: string) => {
  const minor = minorUnitsOf(currency) ?? 0;
  return fc
    .tuple(
      fc.oneof(fc.bigInt({ min: 0n, max: 999n }), fc.bigInt({ min: 0n, max: 10n ** 15n - 1n })),
      fc.string({ unit: fc.constantFrom(...'0123456789'), maxLength: minor }),
      fc.nat({ max: 2 }),
    )
    .map(([integer, fraction, zeros]) => {
      const text = fraction === '' ? `${integer}` : `${integer}.${fraction}${'0'.repeat(zeros)}`;
      // Zero is not an amount; every other combination above is valid for the currency.
      return /^0(\.0*)?$/.test(text) ? '1' : text;
    });
};

interface Candidate {
  raw: string;
  /** Built valid on purpose (must be 202), rather than judged by the oracle. */
  builtValid: boolean;
}

/** Serialises with the amount either as a JSON string or as a bare JSON number literal. */
function serialise(body: Record<string, unknown>, amountAsNumber: boolean): string {
  if (!amountAsNumber || typeof body.amount !== 'string') return JSON.stringify(body);
  const marker = '__amount_literal__';
  return JSON.stringify({ ...body, amount: marker }).replace(`"${marker}"`, body.amount);
}

const validBody = fc
  .record({
    id: idPrefix,
    source: account,
    destination: account,
    currency: fc.constantFrom(...currencies),
    asNumber: fc.boolean(),
  })
  .filter((b) => b.source !== b.destination)
  .chain((b) => amountFor(b.currency).map((amount) => ({ ...b, amount })));

const valid: fc.Arbitrary<Candidate> = validBody.map((b) => ({
  builtValid: true,
  raw: serialise(
    {
      transaction_id: unique(b.id),
      source_account: b.source,
      destination_account: b.destination,
      amount: b.amount,
      currency: b.currency,
    },
    b.asNumber,
  ),
}));

const operator = fc.record({ [`$${'gt'}`]: fc.jsonValue() }).map((o) => o as unknown);
const hostileKey = fc.oneof(
  fc.string(),
  fc.constantFrom('$where', '$gt', '$set', 'a.b', '__proto__', 'constructor', 'prototype', 'status', '_id'),
);
const weirdAmount = fc.oneof(
  fc.string(),
  fc.constantFrom(
    '-1',
    '0',
    '0.00',
    '1e5',
    '1E-2',
    ' 1',
    '1 ',
    '+1',
    '01',
    '.5',
    '5.',
    '1_000',
    'NaN',
    'Infinity',
  ),
  fc.double().map(String),
  fc.bigInt({ min: 10n ** 15n, max: 10n ** 20n }).map(String),
);
const field = fc.constantFrom(
  'transaction_id',
  'source_account',
  'destination_account',
  'amount',
  'currency',
);

/** A valid body with one or more hostile changes; the server must judge it as the contract says. */
const mutated: fc.Arbitrary<Candidate> = fc
  .tuple(
    validBody,
    fc.array(
      fc.oneof(
        fc.record({
          kind: fc.constant('replace' as const),
          field,
          value: fc.oneof(fc.jsonValue(), operator),
        }),
        fc.record({ kind: fc.constant('delete' as const), field }),
        fc.record({ kind: fc.constant('extra' as const), key: hostileKey, value: fc.jsonValue() }),
        fc.record({ kind: fc.constant('amount' as const), value: weirdAmount }),
        fc.record({ kind: fc.constant('same-accounts' as const) }),
        fc.record({
          kind: fc.constant('currency' as const),
          value: fc.oneof(fc.string({ maxLength: 4 }), fc.constantFrom('usd', 'XAU', 'XTS', 'US D')),
        }),
      ),
      { minLength: 1, maxLength: 3 },
    ),
    fc.boolean(),
  )
  .map(([b, changes, asNumber]) => {
    const body: Record<string, unknown> = {
      transaction_id: unique(b.id),
      source_account: b.source,
      destination_account: b.destination,
      amount: b.amount,
      currency: b.currency,
    };
    for (const change of changes) {
      if (change.kind === 'replace') body[change.field] = change.value;
      else if (change.kind === 'delete') delete body[change.field];
      else if (change.kind === 'extra')
        Object.defineProperty(body, change.key, {
          value: change.value,
          enumerable: true,
          configurable: true,
          writable: true,
        });
      else if (change.kind === 'amount') body.amount = change.value;
      else if (change.kind === 'same-accounts') body.destination_account = body.source_account;
      else body.currency = change.value;
    }
    return {
      builtValid: false,
      raw: serialise(body, asNumber && typeof body.amount === 'string' && /^[0-9.]+$/.test(body.amount)),
    };
  });

/** Not a webhook at all: arbitrary JSON, arbitrary text, truncated or deeply nested JSON. */
const garbage: fc.Arbitrary<Candidate> = fc
  .oneof(
    fc.jsonValue().map((v) => JSON.stringify(v) ?? 'null'),
    fc.string({ unit: 'binary', maxLength: 200 }),
    fc.tuple(validBody, fc.nat()).map(([b, cut]) => {
      const raw = JSON.stringify({ transaction_id: b.id, amount: b.amount });
      return raw.slice(0, cut % raw.length);
    }),
    fc.integer({ min: MAX_JSON_DEPTH - 2, max: 1_000 }).map((n) => '['.repeat(n) + ']'.repeat(n)),
  )
  .map((raw) => ({ builtValid: false, raw }));

const candidate = fc.oneof(
  { arbitrary: valid, weight: 3 },
  { arbitrary: mutated, weight: 5 },
  { arbitrary: garbage, weight: 2 },
);

// --- oracle -----------------------------------------------------------------------------------

type Expected = { status: 202; id: string; amount: string } | { status: 400 | 413; id?: string };

/** What the contract says the answer must be, worked out without the server. */
function expected(raw: string): Expected {
  if (Buffer.byteLength(raw) > LIMIT) return { status: 413 };
  let value: unknown;
  try {
    if (raw.length === 0 || nestsDeeperThan(raw, MAX_JSON_DEPTH)) return { status: 400 };
    value = parseLossless(raw);
  } catch {
    return { status: 400 };
  }
  const parsed = transactionWebhookSchema.safeParse(value);
  if (parsed.success) return { status: 202, id: parsed.data.transaction_id, amount: parsed.data.amount };
  const id = (value as { transaction_id?: unknown } | null)?.transaction_id;
  return { status: 400, ...(typeof id === 'string' ? { id } : {}) };
}

// --- properties -------------------------------------------------------------------------------

describe('fuzzing POST /v1/webhooks/transactions (fast-check, real HTTP, real DB)', () => {
  it(`answers ${BODIES.toLocaleString('en')} generated bodies without a 5xx, exactly as the contract says`, async () => {
    let sent = 0;
    let accepted = 0;
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(fc.array(candidate, { minLength: BATCH, maxLength: BATCH }), async (batch) => {
        await mapLimit(batch, CONCURRENCY, async ({ raw, builtValid }) => {
          const want = expected(raw);
          const response = await postWebhook(served.baseUrl, raw);
          sent++;
          statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
          expect(response.status).toBeLessThan(500);
          if (builtValid) expect(want.status).toBe(202); // the oracle agrees with the generator
          expect(response.status).toBe(want.status);
          if (want.status === 202) {
            accepted++;
            const stored = await database.repository.findByTransactionId(want.id);
            expect(stored?.amount.toString()).toBe(want.amount);
          } else if (want.id !== undefined) {
            expect(await database.repository.collection.countDocuments({ transaction_id: want.id })).toBe(0);
          }
        });
      }),
      {
        numRuns: Math.ceil(BODIES / BATCH),
        ...(SEED !== undefined ? { seed: SEED } : {}),
        endOnFailure: true,
      },
    );
    // Nothing but the accepted bodies was ever stored.
    expect(await database.repository.collection.countDocuments()).toBe(accepted);
    expect(sent).toBeGreaterThanOrEqual(BODIES);
    console.log(
      `fuzz: ${sent} bodies, ${accepted} accepted; statuses ${JSON.stringify(Object.fromEntries(statuses))}`,
    );
  });

  it('never lets an unsigned, mis-signed or garbled X-Signature through, and never a 5xx', async () => {
    const before = await database.repository.collection.countDocuments();
    const header = fc.oneof(
      fc.string({ unit: 'binary-ascii', maxLength: 300 }),
      fc
        .tuple(
          fc.integer({ min: -1e6, max: 1e6 }),
          fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF'), maxLength: 70 }),
        )
        .map(([skew, hex]) => `t=${Math.floor(Date.now() / 1000) + skew},v1=${hex}`),
      fc
        .tuple(valid, fc.string({ minLength: 16, maxLength: 40 }))
        .map(([c, secret]) => signatureHeader(secret, c.raw)),
    );
    await fc.assert(
      fc.asyncProperty(valid, header, async (c, value) => {
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        // fetch refuses header values with control characters; those never reach a server anyway.
        if (/^[\x20-\x7e]*$/.test(value)) headers['x-signature'] = value;
        const response = await postWebhook(signed.baseUrl, c.raw, headers);
        expect(response.status).toBe(401);
      }),
      { numRuns: 1_000, ...(SEED !== undefined ? { seed: SEED } : {}) },
    );
    expect(await database.repository.collection.countDocuments()).toBe(before);
  });
});
