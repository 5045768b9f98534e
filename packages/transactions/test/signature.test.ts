import { createHmac } from 'node:crypto';
import { parseSignatureHeader, signatureHeader, signPayload, verifySignature } from '../src/signature';

const secret = 'whsec_test_0123456789abcdef';
const other = 'whsec_other_0123456789abcdef';
const body = Buffer.from('{"transaction_id":"tx-1","amount":"1.00"}');
const now = 1_800_000_000;

function check(
  header: string | string[] | undefined,
  options: { secrets?: string[]; at?: number; raw?: Buffer } = {},
) {
  return verifySignature({
    header,
    body: options.raw ?? body,
    secrets: options.secrets ?? [secret],
    toleranceSeconds: 300,
    now: options.at ?? now,
  });
}

describe('signPayload', () => {
  it('is the hex HMAC-SHA256 of "<t>.<body>"', () => {
    const expected = createHmac('sha256', secret).update(`${now}.${body.toString()}`).digest('hex');
    expect(signPayload(secret, body, now)).toBe(expected);
    expect(signPayload(secret, body.toString(), now)).toBe(expected);
    expect(signatureHeader(secret, body, now)).toBe(`t=${now},v1=${expected}`);
  });
});

describe('verifySignature', () => {
  it('accepts a valid signature, also within the tolerance either way', () => {
    expect(check(signatureHeader(secret, body, now))).toEqual({ ok: true });
    expect(check(signatureHeader(secret, body, now - 300))).toEqual({ ok: true });
    expect(check(signatureHeader(secret, body, now + 300))).toEqual({ ok: true });
  });

  it('refuses a wrong secret and a tampered body', () => {
    expect(check(signatureHeader(other, body, now))).toEqual({ ok: false, reason: 'mismatch' });
    const tampered = Buffer.from(body.toString().replace('1.00', '9.00'));
    expect(check(signatureHeader(secret, body, now), { raw: tampered })).toEqual({
      ok: false,
      reason: 'mismatch',
    });
  });

  it('refuses a changed timestamp: it is part of what is signed', () => {
    const header = signatureHeader(secret, body, now).replace(`t=${now}`, `t=${now - 1}`);
    expect(check(header)).toEqual({ ok: false, reason: 'mismatch' });
  });

  it('refuses stale and future timestamps (replays)', () => {
    expect(check(signatureHeader(secret, body, now - 301))).toEqual({
      ok: false,
      reason: 'outside_tolerance',
    });
    expect(check(signatureHeader(secret, body, now + 301))).toEqual({
      ok: false,
      reason: 'outside_tolerance',
    });
  });

  it('accepts any of several secrets (rotation) and any of several v1 entries', () => {
    expect(check(signatureHeader(other, body, now), { secrets: [secret, other] })).toEqual({ ok: true });
    expect(check(signatureHeader([other, secret], body, now))).toEqual({ ok: true });
    const withUnknownScheme = `t=${now},v0=abc,v1=${signPayload(secret, body, now)}`;
    expect(check(withUnknownScheme)).toEqual({ ok: true });
  });

  it.each([
    ['absent', undefined, 'missing'],
    ['empty', '', 'missing'],
    ['twice', [signatureHeader(secret, body, now), signatureHeader(secret, body, now)], 'malformed'],
    ['garbage', 'hello', 'malformed'],
    ['no timestamp', `v1=${signPayload(secret, body, now)}`, 'malformed'],
    ['no v1', `t=${now}`, 'malformed'],
    ['two timestamps', `t=${now},t=${now},v1=${signPayload(secret, body, now)}`, 'malformed'],
    ['short hex', `t=${now},v1=abcdef`, 'malformed'],
    ['non-hex', `t=${now},v1=${'z'.repeat(64)}`, 'malformed'],
    ['negative time', `t=-1,v1=${signPayload(secret, body, now)}`, 'malformed'],
    ['float time', `t=1.5,v1=${signPayload(secret, body, now)}`, 'malformed'],
    ['too many entries', `t=${now}` + `,v1=${'0'.repeat(64)}`.repeat(20), 'malformed'],
  ])('refuses a header that is %s', (_name, header, reason) => {
    expect(check(header)).toEqual({ ok: false, reason });
  });
});

describe('the timestamp is signed as the text sent', () => {
  // A sender that zero-pads (or otherwise spells) t signs those exact characters; the receiver
  // must check the same characters, not a number re-printed from them.
  it('accepts a signature over a zero-padded t exactly as sent', () => {
    const sent = `0${now}`;
    const hex = createHmac('sha256', secret).update(`${sent}.`).update(body).digest('hex');
    expect(check(`t=${sent},v1=${hex}`)).toEqual({ ok: true });
  });

  it('refuses a signature over the re-printed number when t was sent padded', () => {
    expect(check(`t=0${now},v1=${signPayload(secret, body, now)}`)).toEqual({
      ok: false,
      reason: 'mismatch',
    });
  });
});

describe('parseSignatureHeader', () => {
  it('tolerates spaces and upper-case hex', () => {
    const hex = signPayload(secret, body, now);
    expect(parseSignatureHeader(` t=${now} , v1=${hex.toUpperCase()} `)).toEqual({
      timestamp: now,
      timestampText: String(now),
      signatures: [Buffer.from(hex, 'hex')],
    });
  });
});
