import { randomBytes } from 'node:crypto';
import { waitFor } from './waiting';

export interface WebhookBody {
  transaction_id: string;
  source_account: string;
  destination_account: string;
  amount: string | number;
  currency: string;
}

export function uniqueId(prefix = 'tx'): string {
  return `${prefix}-${randomBytes(8).toString('hex')}`;
}

export function sampleWebhook(overrides: Partial<WebhookBody> = {}): WebhookBody {
  return {
    transaction_id: uniqueId(),
    source_account: 'acc-source-1',
    destination_account: 'acc-dest-2',
    amount: '125.50',
    currency: 'USD',
    ...overrides,
  };
}

export interface HttpResult<T = unknown> {
  status: number;
  body: T;
  headers: Headers;
  elapsedMs: number;
}

/**
 * The longest a test waits for an answer (unless it passes its own signal). fetch alone would wait
 * up to undici's 300 s header timeout, past Jest's test timeout: a request that the service never
 * answers then showed up as "Exceeded timeout" with no hint of which request it was.
 */
export const NO_ANSWER_MS = 60_000;

/** A request the service did not answer within NO_ANSWER_MS (or the caller's signal). */
export class NoAnswerError extends Error {
  override readonly name = 'NoAnswerError';
}

/** Sends one request and reads its JSON answer, timing the whole exchange. */
export async function requestJson<T = unknown>(url: string, init: RequestInit = {}): Promise<HttpResult<T>> {
  const started = performance.now();
  const signal = init.signal ?? AbortSignal.timeout(NO_ANSWER_MS);
  let response: Response;
  let text: string;
  try {
    response = await fetch(url, { ...init, signal });
    text = await response.text();
  } catch (error) {
    if (!signal.aborted) throw error;
    const waited = Math.round(performance.now() - started);
    throw new NoAnswerError(`no answer to ${init.method ?? 'GET'} ${url} after ${waited} ms`, {
      cause: error,
    });
  }
  return {
    status: response.status,
    body: (text ? JSON.parse(text) : undefined) as T,
    headers: response.headers,
    elapsedMs: performance.now() - started,
  };
}

/** POSTs a body (an object is sent as JSON, a string as is) and reads the JSON answer. */
export function postWebhook<T = unknown>(
  baseUrl: string,
  body: unknown,
  headers: Record<string, string> = { 'content-type': 'application/json' },
): Promise<HttpResult<T>> {
  return requestJson<T>(`${baseUrl}/v1/webhooks/transactions`, {
    method: 'POST',
    headers,
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

export function getJson<T = unknown>(url: string): Promise<HttpResult<T>> {
  return requestJson<T>(url);
}

/** What GET /v1/transactions/:id answers. */
export interface TransactionViewBody {
  transaction_id: string;
  status: string;
  amount: string;
  calls: number;
  attempts: number;
  claims: number;
  created_at: string;
  processed_at: string | null;
}

/** Polls the status endpoint until the transaction has `status`; resolves with its view. */
export function waitForStatus(
  baseUrl: string,
  transactionId: string,
  status: string,
  timeoutMs: number,
  intervalMs = 100,
): Promise<TransactionViewBody> {
  return waitFor(
    `${transactionId} to be ${status}`,
    async () => {
      const r = await getJson<TransactionViewBody>(`${baseUrl}/v1/transactions/${transactionId}`);
      return r.body.status === status ? r.body : undefined;
    },
    timeoutMs,
    intervalMs,
  );
}
