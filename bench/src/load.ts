import autocannon from 'autocannon';
import { randomBytes } from 'node:crypto';

export interface LoadResult {
  requestsPerSecond: number;
  p50: number;
  p99: number;
  p999: number;
  errors: number;
  non2xx: number;
  timeouts: number;
  total: number;
}

let sequence = 0;
/** A unique, valid webhook body per call: ingest benchmarks never send duplicates. */
export function uniqueWebhookBody(): string {
  sequence += 1;
  return JSON.stringify({
    transaction_id: `bench-${randomBytes(6).toString('hex')}-${sequence}`,
    source_account: 'acc-bench-1',
    destination_account: 'acc-bench-2',
    amount: '125.50',
    currency: 'USD',
  });
}

/** POSTs unique webhooks with autocannon: by duration or amount, closed loop or at a fixed rate. */
export async function postLoad(options: {
  url: string;
  connections: number;
  durationSeconds?: number;
  amount?: number;
  overallRate?: number;
}): Promise<LoadResult> {
  const result = await autocannon({
    url: options.url,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    connections: options.connections,
    ...(options.durationSeconds ? { duration: options.durationSeconds } : {}),
    ...(options.amount ? { amount: options.amount } : {}),
    ...(options.overallRate ? { overallRate: options.overallRate } : {}),
    requests: [{ setupRequest: (request) => ({ ...request, body: uniqueWebhookBody() }) }],
  });
  return {
    requestsPerSecond: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    p999: result.latency.p99_9,
    errors: result.errors,
    non2xx: result.non2xx,
    timeouts: result.timeouts,
    total: result.requests.total,
  };
}
