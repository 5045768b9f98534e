/**
 * `pnpm send`: signs and sends one sample webhook, prints the answer.
 *
 *   WEBHOOK_SECRET=... pnpm send [--url http://localhost:3000] [--id tx-1] [--amount 12.50] [--currency EUR]
 *                                [--webhook-source psp-a] [--standard]
 *
 * --webhook-source posts to /v1/webhooks/<source>/transactions (sign with that source's secret);
 * --standard signs with the Standard Webhooks headers instead of X-Signature.
 *
 * The same options can come from the environment: WEBHOOK_URL, TRANSACTION_ID, AMOUNT, CURRENCY.
 * Without WEBHOOK_SECRET the request goes unsigned (fine while the API has no secret either).
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { SIGNATURE_HEADER, signatureHeader, standardWebhookHeaders } from '@txhook/transactions';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      url: { type: 'string', default: process.env.WEBHOOK_URL ?? 'http://localhost:3000' },
      id: { type: 'string', default: process.env.TRANSACTION_ID ?? `tx-${randomBytes(6).toString('hex')}` },
      amount: { type: 'string', default: process.env.AMOUNT ?? '125.50' },
      currency: { type: 'string', default: process.env.CURRENCY ?? 'USD' },
      source: { type: 'string', default: 'acc-source-1' },
      destination: { type: 'string', default: 'acc-dest-2' },
      'webhook-source': { type: 'string' },
      standard: { type: 'boolean', default: false },
    },
  });
  const body = JSON.stringify({
    transaction_id: values.id,
    source_account: values.source,
    destination_account: values.destination,
    amount: values.amount,
    currency: values.currency,
  });
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  const secrets = (process.env.WEBHOOK_SECRET ?? '').split(',').filter((secret) => secret.trim() !== '');
  // While rotating, the API accepts any of its secrets; signing with the first one is enough.
  const secret = secrets[0]?.trim();
  if (!secret) console.error('WEBHOOK_SECRET is not set: sending unsigned');
  else if (values.standard)
    Object.assign(headers, standardWebhookHeaders(secret, `msg_${randomBytes(8).toString('hex')}`, body));
  else headers[SIGNATURE_HEADER] = signatureHeader(secret, body);

  const source = values['webhook-source'];
  const url = new URL(
    source ? `/v1/webhooks/${encodeURIComponent(source)}/transactions` : '/v1/webhooks/transactions',
    values.url,
  );
  console.log(`POST ${url.href}\n${body}`);
  const response = await fetch(url, { method: 'POST', headers, body });
  console.log(`${response.status} ${response.statusText}\n${await response.text()}`);
  if (response.status >= 400) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
