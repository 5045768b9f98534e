import { randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import type { Express } from 'express';
import { Registry } from 'prom-client';
import {
  SIGNATURE_HEADER,
  TransactionStore,
  newTransactionDocument,
  signatureHeader,
  type RecordOutcome,
  type TransactionWebhook,
} from '@txhook/transactions';
import type { AppDependencies } from './app';
import { WEBHOOKS_PATH } from './routes/webhooks';
import { listen } from './server';

/** Enough for requests to overlap as a burst's do, few enough to leave a CPU to the database. */
export const WARM_UP_CONNECTIONS = 16;
/** A slow or failing database must not hold the API's start for long: the warm-up ends by then. */
export const WARM_UP_BUDGET_MS = 5_000;

/**
 * A freshly started API runs its first requests as cold code: every function is compiled on first
 * use and interpreted until V8 optimises it. Its first burst of 64 webhooks at once took about
 * 500 ms to work through, so the last of them were acknowledged late (bench/analysis.md, "A cold
 * API's first burst"). Before the API listens, this posts webhooks through a second app built from
 * the same code on a loopback port, so the real one starts warm.
 *
 * The second app stores nothing, counts nothing and logs nothing: its store reads where the real
 * one writes (WarmUpStore), its metrics go to a registry of its own, its log lines to nowhere, and
 * its requests are signed with a secret made up here, never with a sender's.
 */
export async function warmUpRequestPath(
  createApp: (deps: AppDependencies) => Express,
  deps: AppDependencies,
  options: {
    /** A WarmUpStore, wrapped as the real store is. */
    store: TransactionStore;
    /** Formatted as the real app's logger, writing to nowhere(). */
    logger: AppDependencies['logger'];
    requests: number;
    connections: number;
    /** WARM_UP_BUDGET_MS unless given. */
    budgetMs?: number;
  },
): Promise<WarmUpResult> {
  const budgetMs = options.budgetMs ?? WARM_UP_BUDGET_MS;
  const secret = randomBytes(32).toString('hex');
  const app = createApp({
    ...deps,
    repository: options.store,
    logger: options.logger,
    registry: new Registry(),
    signature: deps.signature
      ? { secrets: [secret], toleranceSeconds: deps.signature.toleranceSeconds }
      : undefined,
    // The same code runs, with a limit the warm-up never reaches.
    rateLimitPerMinute: deps.rateLimitPerMinute === undefined ? undefined : Number.MAX_SAFE_INTEGER,
  });
  // A free port on loopback only: nothing outside the host can reach the warm-up app.
  const server = await listen(app, 0, { host: '127.0.0.1' });
  const agent = new Agent({ keepAlive: true, maxSockets: options.connections });
  const started = performance.now();
  const result: WarmUpResult = { requests: 0, accepted: 0, ms: 0 };
  const outOfTime = `after ${budgetMs} ms`;
  try {
    const { port } = server.address() as AddressInfo;
    const post = async () => {
      while (result.requests < options.requests && result.stopped === undefined) {
        if (performance.now() - started >= budgetMs) {
          result.stopped ??= outOfTime;
          return;
        }
        result.requests += 1;
        const body = warmUpWebhook(result.requests);
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (deps.signature) headers[SIGNATURE_HEADER] = signatureHeader(secret, body);
        const left = budgetMs - (performance.now() - started);
        const answer = await postOnce(agent, port, body, headers, Math.max(1, left)).catch(() => undefined);
        if (answer === 202) result.accepted += 1;
        else if (answer === OUT_OF_TIME) result.stopped ??= outOfTime;
        else result.stopped ??= answer === undefined ? 'on a failed request' : `on an answer ${answer}`;
      }
    };
    await Promise.all(Array.from({ length: options.connections }, post));
  } finally {
    agent.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  result.ms = Math.round(performance.now() - started);
  return result;
}

export interface WarmUpResult {
  /** Webhooks posted. */
  requests: number;
  /** Of them, answered 202 as a real new webhook would be. */
  accepted: number;
  ms: number;
  /** Why it stopped before posting them all: the API then listens anyway, less warm. */
  stopped?: string;
}

/**
 * The store of the warm-up app. Where the real one inserts, it reads the record by its id (none
 * exists: the ids are made up here) through the same driver, and answers as for a new webhook.
 */
export class WarmUpStore extends TransactionStore {
  override async recordWebhook(webhook: TransactionWebhook, source?: string): Promise<RecordOutcome> {
    const record = newTransactionDocument(webhook, this.now(), source);
    const existing = await this.findByTransactionId(webhook.transaction_id);
    return existing ? { outcome: 'duplicate', record: existing } : { outcome: 'created', record };
  }
}

function warmUpWebhook(sequence: number): string {
  return JSON.stringify({
    transaction_id: `warm-up-${randomBytes(8).toString('hex')}-${sequence}`,
    source_account: 'acc-warm-up-1',
    destination_account: 'acc-warm-up-2',
    amount: '125.50',
    currency: 'USD',
  });
}

/** A warm-up request still unanswered when the budget ran out. */
const OUT_OF_TIME = 'out of time';

function postOnce(
  agent: Agent,
  port: number,
  body: string,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<number | typeof OUT_OF_TIME> {
  return new Promise((resolve, reject) => {
    const req = request(
      { agent, host: '127.0.0.1', port, method: 'POST', path: WEBHOOKS_PATH, headers },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.setTimeout(timeoutMs, () => {
      resolve(OUT_OF_TIME);
      req.destroy();
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A stream that drops what is written to it: where the warm-up app's log lines go. */
export function nowhere(): Writable {
  return new Writable({ write: (_chunk, _encoding, done) => done() });
}
