/**
 * What access control costs per request (docs/SECURITY.md):
 *
 *   bash scripts/ts.sh bench/src/auth-cost.ts
 *
 * 1. In process: checking a bearer key against 10 configured keys, an X-Signature and a Standard
 *    Webhooks signature over a 160-byte body, each timed over many iterations.
 * 2. Over HTTP: the same route (GET /v1/stats, its answer cached) on two app instances, keys off
 *    and keys on with a read key sent, by autocannon, alternated to share the machine's noise.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import autocannon from 'autocannon';
import { MongoClient } from 'mongodb';
import { startEmbeddedMongo } from '@txhook/embedded-mongo';
import { createLogger } from '@txhook/platform';
import {
  signatureHeader,
  standardWebhookHeaders,
  TransactionStore,
  verifySignature,
  verifyStandardWebhook,
} from '@txhook/transactions';
import { createApp } from '../../apps/api/src/app';
import { loadApiConfig } from '../../apps/api/src/config';
import { OperatorAuth } from '../../apps/api/src/operator-auth';

const token = () => `txk_${randomBytes(32).toString('base64url')}`;
const tokens = Array.from({ length: 10 }, token);
const keys = tokens.map((t, i) => `key${i}:read:${createHash('sha256').update(t).digest('hex')}`).join(',');
const config = loadApiConfig({ OPERATOR_KEYS: keys, NODE_ENV: 'test' });

function timeIt(label: string, iterations: number, run: () => unknown): void {
  for (let i = 0; i < 2_000; i++) run();
  const started = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) run();
  const ns = Number(process.hrtime.bigint() - started) / iterations;
  console.log(`${label}: ${(ns / 1000).toFixed(2)} µs per check (${iterations} iterations)`);
}

function inProcess(): void {
  const auth = new OperatorAuth(config.OPERATOR_KEYS);
  const valid = `Bearer ${tokens[9]}`;
  const wrong = `Bearer ${token()}`;
  timeIt('bearer key, valid (10 keys)', 200_000, () => auth.authenticate(valid));
  timeIt('bearer key, unknown (10 keys)', 200_000, () => auth.authenticate(wrong));
  const body = Buffer.from(
    JSON.stringify({
      transaction_id: 'tx-0123456789abcdef',
      source_account: 'acc-source-1',
      destination_account: 'acc-dest-2',
      amount: '125.50',
      currency: 'USD',
      pad: 'x'.repeat(20),
    }),
  );
  const secret = `whsec_${randomBytes(24).toString('base64')}`;
  const header = signatureHeader(secret, body);
  timeIt(`X-Signature, ${body.length}-byte body`, 100_000, () =>
    verifySignature({ header, body, secrets: [secret], toleranceSeconds: 300 }),
  );
  const standard = standardWebhookHeaders(secret, 'msg_1', body);
  timeIt(`Standard Webhooks, ${body.length}-byte body`, 100_000, () =>
    verifyStandardWebhook({
      id: standard['webhook-id'],
      timestamp: standard['webhook-timestamp'],
      signature: standard['webhook-signature'],
      body,
      secrets: [secret],
      toleranceSeconds: 300,
    }),
  );
}

async function overHttp(): Promise<void> {
  const database = await startEmbeddedMongo({ backend: 'memory' });
  const client = await MongoClient.connect(database.url);
  const logger = createLogger('auth-cost', { LOG_LEVEL: 'error', LOG_FORMAT: 'json', NODE_ENV: 'test' });
  const repository = new TransactionStore(client.db('auth_cost'));
  await repository.ensureIndexes();
  const listen = async (auth?: OperatorAuth) => {
    const app = createApp({ client, repository, logger, bodyLimitBytes: 16_384, ...(auth ? { auth } : {}) });
    const server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/stats` };
  };
  const open = await listen();
  const guarded = await listen(new OperatorAuth(config.OPERATOR_KEYS));
  const run = async (url: string, headers: Record<string, string>) => {
    const result = await autocannon({ url, headers, connections: 10, duration: 5 });
    if (result.non2xx > 0) throw new Error(`${result.non2xx} non-2xx answers from ${url}`);
    return result;
  };
  try {
    for (let round = 1; round <= 2; round++) {
      for (const [label, target, headers] of [
        ['keys off', open.url, {}],
        ['keys on, read key', guarded.url, { authorization: `Bearer ${tokens[9]}` }],
      ] as const) {
        const result = await run(target, headers);
        console.log(
          `round ${round}, ${label}: ${Math.round(result.requests.average)} req/s, p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms`,
        );
      }
    }
  } finally {
    for (const { server } of [open, guarded]) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
    await client.close();
    await database.stop();
  }
}

inProcess();
overHttp().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
