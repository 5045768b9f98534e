import { Decimal128 } from 'mongodb';

/** Largest amount accepted, in major units: 15 integer digits keeps every value exact everywhere. */
export const MAX_INTEGER_DIGITS = 15;

/** No ISO 4217 currency has more minor-unit decimals than this; longer fractions are noise. */
export const MAX_FRACTION_DIGITS = 4;

const PLAIN_DECIMAL = /^(0|[1-9][0-9]*)(?:\.([0-9]+))?$/;

/**
 * What a valid amount string looks like, for documentation: positive, plain, at most 15 integer
 * digits. The currency's decimals come on top; parseAmount is the check.
 */
export const AMOUNT_TEXT_PATTERN = `^([1-9][0-9]{0,${MAX_INTEGER_DIGITS - 1}}(\\.[0-9]+)?|0\\.[0-9]*[1-9][0-9]*)$`;

export type AmountProblem = 'not_a_decimal' | 'not_positive' | 'too_large' | 'too_many_decimals';

export type AmountParse =
  { ok: true; value: string } | { ok: false; problem: AmountProblem; message: string };

/**
 * Parses the decimal text of an amount exactly (no binary floating point anywhere) and returns
 * it in canonical form with exactly `minorUnits` decimals: "10.5" for USD becomes "10.50".
 */
export function parseAmount(text: string, minorUnits: number): AmountParse {
  const match = PLAIN_DECIMAL.exec(text);
  if (!match) {
    return {
      ok: false,
      problem: 'not_a_decimal',
      message: 'must be a plain decimal number such as 10 or 10.25 (no sign, exponent or spaces)',
    };
  }
  const integerPart = match[1] ?? '0';
  const fraction = (match[2] ?? '').replace(/0+$/, '');
  if (integerPart.length > MAX_INTEGER_DIGITS) {
    return {
      ok: false,
      problem: 'too_large',
      message: `must have at most ${MAX_INTEGER_DIGITS} digits before the decimal point`,
    };
  }
  if (fraction.length > minorUnits) {
    return {
      ok: false,
      problem: 'too_many_decimals',
      message: `must have at most ${minorUnits} decimal places for this currency`,
    };
  }
  if (integerPart === '0' && fraction === '') {
    return { ok: false, problem: 'not_positive', message: 'must be greater than zero' };
  }
  const padded = fraction.padEnd(minorUnits, '0');
  return { ok: true, value: minorUnits === 0 ? integerPart : `${integerPart}.${padded}` };
}

/** Stores a canonical decimal string exactly as BSON Decimal128. */
export function toDecimal128(canonical: string): Decimal128 {
  return Decimal128.fromString(canonical);
}
