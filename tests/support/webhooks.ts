import { randomBytes } from 'node:crypto';

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

/** POSTs a body (an object is sent as JSON, a string as is) and reads the JSON answer. */
export async function postWebhook<T = unknown>(
  baseUrl: string,
  body: unknown,
  headers: Record<string, string> = { 'content-type': 'application/json' },
): Promise<HttpResult<T>> {
  const started = performance.now();
  const response = await fetch(`${baseUrl}/v1/webhooks/transactions`, {
    method: 'POST',
    headers,
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return {
    status: response.status,
    body: (text ? JSON.parse(text) : undefined) as T,
    headers: response.headers,
    elapsedMs: performance.now() - started,
  };
}

export async function getJson<T = unknown>(url: string): Promise<HttpResult<T>> {
  const started = performance.now();
  const response = await fetch(url);
  const text = await response.text();
  return {
    status: response.status,
    body: (text ? JSON.parse(text) : undefined) as T,
    headers: response.headers,
    elapsedMs: performance.now() - started,
  };
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
