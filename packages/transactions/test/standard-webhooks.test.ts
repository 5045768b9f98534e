import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import {
  signStandardWebhook,
  standardWebhookHeaders,
  verifyStandardWebhook,
  type VerifyStandardWebhookOptions,
} from '../src/standard-webhooks';

/** A whsec_ secret as senders hand them out: base64 of random key bytes. */
const newSecret = () => `whsec_${randomBytes(24).toString('base64')}`;
const secret = newSecret();
const other = newSecret();
const body = '{"transaction_id":"tx-1","amount":"1.00"}';
const now = 1_800_000_000;

function check(
  headers: Record<string, string | string[] | undefined>,
  overrides: Partial<VerifyStandardWebhookOptions> = {},
) {
  return verifyStandardWebhook({
    id: headers['webhook-id'],
    timestamp: headers['webhook-timestamp'],
    signature: headers['webhook-signature'],
    body: Buffer.from(body),
    secrets: [secret],
    toleranceSeconds: 300,
    now,
    ...overrides,
  });
}

/** Headers made by the reference implementation (the `standardwebhooks` npm package), not ours. */
function referenceHeaders(key: string, id: string, at: number, payload = body): Record<string, string> {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(at),
    'webhook-signature': new Webhook(key).sign(id, new Date(at * 1000), payload),
  };
}

describe('Standard Webhooks against the reference implementation', () => {
  it('matches the published example vector', () => {
    // From the Standard Webhooks / Svix documentation.
    expect(
      signStandardWebhook(
        'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
        'msg_p5jXN8AQM9LWM0D4loKWxJek',
        1614265330,
        '{"test": 2432232314}',
      ),
    ).toBe('g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('accepts what the reference signer produces, for many random ids, secrets and bodies', () => {
    for (let i = 0; i < 50; i++) {
      const key = newSecret();
      const payload = JSON.stringify({ n: i, pad: randomBytes(i).toString('hex') });
      const headers = referenceHeaders(key, `msg_${randomBytes(8).toString('hex')}`, now - i, payload);
      expect(check(headers, { secrets: [key], body: Buffer.from(payload) })).toEqual({ ok: true });
    }
  });

  it('produces headers the reference verifier accepts', () => {
    const reference = new Webhook(secret);
    const headers = standardWebhookHeaders(secret, 'msg_1', body);
    expect(() => reference.verify(body, headers)).not.toThrow();
    expect(() => new Webhook(other).verify(body, headers)).toThrow();
  });

  it('accepts any of several signatures (sender rotating) and any of several secrets (we rotate)', () => {
    const headers = standardWebhookHeaders([other, secret], 'msg_2', body, now);
    expect(headers['webhook-signature']).toMatch(/^v1,\S+ v1,\S+$/);
    expect(check(headers)).toEqual({ ok: true });
    expect(check(referenceHeaders(other, 'msg_3', now), { secrets: [secret, other] })).toEqual({ ok: true });
    // Unknown versions are skipped, not refused.
    const mixed = referenceHeaders(secret, 'msg_4', now);
    mixed['webhook-signature'] = `v1a,${'A'.repeat(86)}== ${mixed['webhook-signature']}`;
    expect(check(mixed)).toEqual({ ok: true });
  });
});

describe('Standard Webhooks refusals', () => {
  const good = () => referenceHeaders(secret, 'msg_ok', now);
  it.each<
    [
      string,
      () => Record<string, string | string[] | undefined>,
      string,
      Partial<VerifyStandardWebhookOptions>?,
    ]
  >([
    ['a wrong secret', () => referenceHeaders(other, 'msg_x', now), 'mismatch'],
    ['a tampered body', good, 'mismatch', { body: Buffer.from(body.replace('1.00', '9.00')) }],
    ['another id than signed', () => ({ ...good(), 'webhook-id': 'msg_other' }), 'mismatch'],
    ['a changed timestamp', () => ({ ...good(), 'webhook-timestamp': String(now - 1) }), 'mismatch'],
    ['a stale timestamp', () => referenceHeaders(secret, 'msg_x', now - 301), 'outside_tolerance'],
    ['a future timestamp', () => referenceHeaders(secret, 'msg_x', now + 301), 'outside_tolerance'],
    ['no signature', () => ({ ...good(), 'webhook-signature': undefined }), 'missing'],
    ['no id', () => ({ ...good(), 'webhook-id': undefined }), 'malformed'],
    ['no timestamp', () => ({ ...good(), 'webhook-timestamp': undefined }), 'malformed'],
    ['a float timestamp', () => ({ ...good(), 'webhook-timestamp': '1.5' }), 'malformed'],
    [
      'a repeated header',
      () => ({ ...good(), 'webhook-signature': [good()['webhook-signature']!, 'v1,x'] }),
      'malformed',
    ],
    ['a signature without version', () => ({ ...good(), 'webhook-signature': 'abc' }), 'malformed'],
    ['a short signature', () => ({ ...good(), 'webhook-signature': 'v1,AAAA' }), 'malformed'],
    [
      'only unknown versions',
      () => ({ ...good(), 'webhook-signature': `v2,${'A'.repeat(43)}=` }),
      'malformed',
    ],
    [
      'too many signatures',
      () => ({ ...good(), 'webhook-signature': `v1,${'A'.repeat(43)}= `.repeat(20) }),
      'malformed',
    ],
  ])('refuses %s', (_name, headers, reason, overrides = {}) => {
    expect(check(headers(), overrides)).toEqual({ ok: false, reason });
  });
});
