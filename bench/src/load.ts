import autocannon from 'autocannon';
import { randomBytes } from 'node:crypto';

export interface LoadResult {
  requestsPerSecond: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
  /** Responses slower than the 500 ms acknowledgement contract. */
  over500ms: number;
  /**
   * Responses that are not an acknowledgement within 500 ms: slower, or not a 2xx (a 503 too).
   * Absent from results recorded before it was counted.
   */
  missedAcks?: number;
  errors: number;
  non2xx: number;
  timeouts: number;
  total: number;
  /**
   * When the last response arrived (epoch ms). autocannon reports a run by `amount` done only at
   * its next one-second tick, up to a second after that.
   */
  lastResponseAt: number;
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
  let over500ms = 0;
  let missedAcks = 0;
  let lastResponseAt = Date.now();
  let instance: autocannon.Instance | undefined;
  const finished = new Promise<autocannon.Result>((resolve, reject) => {
    instance = autocannon(
      {
        url: options.url,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        connections: options.connections,
        ...(options.durationSeconds ? { duration: options.durationSeconds } : {}),
        ...(options.amount ? { amount: options.amount } : {}),
        ...(options.overallRate ? { overallRate: options.overallRate } : {}),
        requests: [{ setupRequest: (request) => ({ ...request, body: uniqueWebhookBody() }) }],
      },
      (error, result) => (error ? reject(error as Error) : resolve(result)),
    );
  });
  instance?.on('response', (_client, status, _bytes, responseTimeMs) => {
    lastResponseAt = Date.now();
    if (responseTimeMs > 500) over500ms += 1;
    if (responseTimeMs > 500 || status < 200 || status > 299) missedAcks += 1;
  });
  const result = await finished;
  return {
    requestsPerSecond: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    p999: result.latency.p99_9,
    max: result.latency.max,
    over500ms,
    missedAcks,
    errors: result.errors,
    non2xx: result.non2xx,
    timeouts: result.timeouts,
    total: result.requests.total,
    lastResponseAt,
  };
}
