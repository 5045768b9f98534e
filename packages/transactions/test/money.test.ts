import fc from 'fast-check';
import { Decimal128 } from 'mongodb';
import { AMOUNT_TEXT_PATTERN, MAX_FRACTION_DIGITS, parseAmount, toDecimal128 } from '../src/money';

describe('parseAmount', () => {
  it.each([
    ['10', 2, '10.00'],
    ['10.5', 2, '10.50'],
    ['10.50', 2, '10.50'],
    ['0.01', 2, '0.01'],
    ['0.1', 2, '0.10'],
    ['1500', 0, '1500'],
    ['1500.000', 0, '1500'],
    ['1.234', 3, '1.234'],
    ['999999999999999.99', 2, '999999999999999.99'],
  ])('accepts %s with %i decimals as %s', (text, minorUnits, expected) => {
    expect(parseAmount(text, minorUnits)).toEqual({ ok: true, value: expected });
  });

  it.each([
    ['0', 2, 'not_positive'],
    ['0.00', 2, 'not_positive'],
    ['-1', 2, 'not_a_decimal'],
    ['+1', 2, 'not_a_decimal'],
    ['1e3', 2, 'not_a_decimal'],
    ['01', 2, 'not_a_decimal'],
    ['1.', 2, 'not_a_decimal'],
    ['.5', 2, 'not_a_decimal'],
    [' 1', 2, 'not_a_decimal'],
    ['NaN', 2, 'not_a_decimal'],
    ['Infinity', 2, 'not_a_decimal'],
    ['', 2, 'not_a_decimal'],
    ['1.001', 2, 'too_many_decimals'],
    ['1.5', 0, 'too_many_decimals'],
    ['1000000000000000', 2, 'too_large'],
  ])('rejects %j with %i decimals (%s)', (text, minorUnits, problem) => {
    const result = parseAmount(text, minorUnits);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problem).toBe(problem);
  });

  it('keeps values that binary floating point cannot represent exactly', () => {
    const parsed = parseAmount('0.10', 2);
    expect(parsed).toEqual({ ok: true, value: '0.10' });
    if (parsed.ok) {
      const stored = toDecimal128(parsed.value);
      expect(stored).toBeInstanceOf(Decimal128);
      expect(stored.toString()).toBe('0.10');
    }
  });
});

describe('AMOUNT_TEXT_PATTERN (the documented shape)', () => {
  const pattern = new RegExp(AMOUNT_TEXT_PATTERN);
  const decimalText = fc.oneof(
    fc.stringMatching(/^[0-9]{1,17}(\.[0-9]{0,6})?$/),
    fc.string({ unit: fc.constantFrom(...'0123456789.-+e '), maxLength: 20 }),
  );

  it('matches exactly the amounts parseAmount accepts, up to the currency decimals', () => {
    fc.assert(
      fc.property(decimalText, (text) => {
        const parsed = parseAmount(text, MAX_FRACTION_DIGITS);
        if (parsed.ok) expect(text).toMatch(pattern);
        else if (parsed.problem !== 'too_many_decimals') expect(text).not.toMatch(pattern);
      }),
      { numRuns: 5_000 },
    );
  });
});
