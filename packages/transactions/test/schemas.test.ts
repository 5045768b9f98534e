import { parse as parseLossless } from 'lossless-json';
import { describeIssues, transactionWebhookSchema } from '../src/schemas';

const valid = {
  transaction_id: 'tx_123-abc',
  source_account: 'acc-1',
  destination_account: 'acc-2',
  amount: '10.5',
  currency: 'USD',
};

function fieldsOf(body: unknown): string[] {
  const result = transactionWebhookSchema.safeParse(body);
  if (result.success) return [];
  return describeIssues(result.error).map((problem) => problem.field);
}

describe('transactionWebhookSchema', () => {
  it('accepts a valid webhook and canonicalises the amount to the currency minor units', () => {
    expect(transactionWebhookSchema.parse(valid)).toEqual({ ...valid, amount: '10.50' });
  });

  it('takes a JSON number exactly as written, through the lossless parser', () => {
    const body = parseLossless(
      '{"transaction_id":"t1","source_account":"a","destination_account":"b","amount":0.30,"currency":"EUR"}',
    );
    expect(transactionWebhookSchema.parse(body).amount).toBe('0.30');
  });

  it('uses the currency minor units: JPY has none, BHD has three', () => {
    expect(transactionWebhookSchema.parse({ ...valid, amount: '1500', currency: 'JPY' }).amount).toBe('1500');
    expect(fieldsOf({ ...valid, amount: '15.5', currency: 'JPY' })).toEqual(['amount']);
    expect(transactionWebhookSchema.parse({ ...valid, amount: '1.234', currency: 'BHD' }).amount).toBe(
      '1.234',
    );
  });

  it('drops unknown fields instead of storing them', () => {
    const parsed = transactionWebhookSchema.parse({ ...valid, extra: 'x', $where: 'sleep(1)' });
    expect(Object.keys(parsed).sort()).toEqual([
      'amount',
      'currency',
      'destination_account',
      'source_account',
      'transaction_id',
    ]);
  });

  it.each([
    ['missing transaction_id', { ...valid, transaction_id: undefined }, 'transaction_id'],
    ['operator object as id', { ...valid, transaction_id: { $gt: '' } }, 'transaction_id'],
    ['id with a dot', { ...valid, transaction_id: 'a.b' }, 'transaction_id'],
    ['id too long', { ...valid, transaction_id: 'x'.repeat(129) }, 'transaction_id'],
    ['empty account', { ...valid, source_account: '' }, 'source_account'],
    ['account with $', { ...valid, destination_account: '$acc' }, 'destination_account'],
    ['same accounts', { ...valid, destination_account: 'acc-1' }, 'destination_account'],
    ['negative amount', { ...valid, amount: '-5' }, 'amount'],
    ['zero amount', { ...valid, amount: '0' }, 'amount'],
    ['float-looking garbage', { ...valid, amount: '1e5' }, 'amount'],
    ['boolean amount', { ...valid, amount: true }, 'amount'],
    ['lower-case currency', { ...valid, currency: 'usd' }, 'currency'],
    ['unknown currency', { ...valid, currency: 'ABC' }, 'currency'],
    ['not a money currency', { ...valid, currency: 'XAU' }, 'currency'],
  ])('rejects %s', (_name, body, field) => {
    expect(fieldsOf(body)).toContain(field);
  });

  it('rejects a body that is not an object', () => {
    expect(fieldsOf([valid])).toEqual(['(body)']);
    expect(fieldsOf(null)).toEqual(['(body)']);
  });
});
