import { isLosslessNumber } from 'lossless-json';
import { z } from 'zod';
import { minorUnitsOf, supportedCurrencies } from './currencies';
import { AMOUNT_TEXT_PATTERN, MAX_FRACTION_DIGITS, MAX_INTEGER_DIGITS, parseAmount } from './money';

/** Identifiers that are safe in URLs, logs and queries: no operators, dots or spaces. */
export const TRANSACTION_ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;
const ACCOUNT_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;

export const transactionIdSchema = z
  .string({ error: 'must be a string' })
  .regex(TRANSACTION_ID_PATTERN, {
    error: 'must be 1-128 characters of A-Z, a-z, 0-9, "_" or "-"',
  })
  .meta({ description: "The processor's unique id of the transaction", examples: ['tx-1001'] });

const accountSchema = z
  .string({ error: 'must be a string' })
  .regex(ACCOUNT_PATTERN, {
    error: 'must be 1-64 characters of A-Z, a-z, 0-9, "_", ".", ":" or "-"',
  })
  .meta({ description: 'Must differ from the other account' });

/**
 * The amount as its decimal text. JSON bodies are parsed losslessly (see parseJsonBody), so a
 * JSON number arrives here as a LosslessNumber holding the exact digits that were sent.
 */
const amountTextSchema = z
  .union(
    [
      // The pattern here is documentation (OpenAPI); parseAmount below is the check.
      z.string().meta({ pattern: AMOUNT_TEXT_PATTERN, examples: ['125.50'] }),
      z
        .custom<{ value: string }>(isLosslessNumber)
        .meta({
          type: 'number',
          exclusiveMinimum: 0,
          exclusiveMaximum: 10 ** MAX_INTEGER_DIGITS,
          examples: [125.5],
        })
        .transform((number) => number.value),
    ],
    { error: 'must be a JSON number or a decimal string' },
  )
  .meta({
    description:
      'Greater than zero, plain decimal notation, at most 15 integer digits and at most the ' +
      "currency's minor-unit decimals (USD 2, JPY 0, BHD 3). Stored and returned as exact decimal text.",
  })
  .superRefine((text, ctx) => {
    // Shape, sign and size here; the currency's decimals are checked once the currency is known.
    const parsed = parseAmount(text, MAX_FRACTION_DIGITS);
    if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.message });
  });

const currencySchema = z
  .enum(supportedCurrencies(), { error: 'must be an ISO 4217 currency code in upper case, e.g. USD' })
  .meta({ description: 'ISO 4217 code (metals, fund and test codes excluded)', examples: ['USD'] });

/**
 * A transaction webhook as delivered by a payment processor. Unknown fields are dropped (never
 * stored): processors add fields over time and must not be refused for it.
 */
export const transactionWebhookSchema = z
  .object({
    transaction_id: transactionIdSchema,
    source_account: accountSchema.meta({ examples: ['acc-1'] }),
    destination_account: accountSchema.meta({ examples: ['acc-2'] }),
    amount: amountTextSchema,
    currency: currencySchema,
  })
  .meta({
    description:
      'A transaction webhook. source_account and destination_account must differ. Unknown fields ' +
      'are ignored and never stored.',
  })
  .superRefine((payload, ctx) => {
    if (payload.source_account === payload.destination_account) {
      ctx.addIssue({
        code: 'custom',
        path: ['destination_account'],
        message: 'must differ from source_account',
      });
    }
  })
  .transform((payload, ctx) => {
    const minorUnits = minorUnitsOf(payload.currency) ?? 0;
    const amount = parseAmount(payload.amount, minorUnits);
    if (!amount.ok) {
      ctx.addIssue({ code: 'custom', path: ['amount'], message: amount.message });
      return z.NEVER;
    }
    return { ...payload, amount: amount.value };
  });

/** A validated webhook; `amount` is canonical decimal text with the currency's minor units. */
export type TransactionWebhook = z.output<typeof transactionWebhookSchema>;

export interface FieldProblem {
  field: string;
  message: string;
}

/** Flattens zod issues into the `details` of the API's error body. */
export function describeIssues(error: z.ZodError): FieldProblem[] {
  return error.issues.map((issue) => ({
    field: issue.path.length ? issue.path.join('.') : '(body)',
    message: issue.message,
  }));
}
