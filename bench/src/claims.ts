/**
 * Claim strategies side by side on the same due records (BENCH_CLAIM_RECORDS), through the
 * LeaseQueue the worker uses: one findOneAndUpdate at a time, the single mode (findOneAndUpdate,
 * several in flight), and the batch mode. Each must claim every record exactly once to count.
 */
import { MongoClient } from 'mongodb';
import { randomBytes } from 'node:crypto';
import { LeaseQueue, TransactionStore, transactionWebhookSchema, type ClaimMode } from '@txhook/transactions';

export interface ClaimResult {
  strategy: string;
  /** The database set-up (older results have none: memory). */
  backend?: string;
  records: number;
  seconds: number;
  claimsPerSecond: number;
  claimedExactlyOnce: boolean;
}

async function seed(repository: TransactionStore, count: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: 100 }, async () => {
      while (next < count) {
        next += 1;
        await repository.recordWebhook(
          transactionWebhookSchema.parse({
            transaction_id: `claim-${next}`,
            source_account: 'a',
            destination_account: 'b',
            amount: '1',
            currency: 'EUR',
          }),
        );
      }
    }),
  );
}

/**
 * Longer than any run: a lease that expired mid-run would make its record due again, and the
 * re-claim would read as a double claim (it did, at 60 s, for runs slower than 60 s).
 */
const LEASE_MS = 3_600_000;

/** Each strategy claims rounds until the queue is empty; a round is one LeaseQueue.claim. */
const STRATEGIES: { strategy: string; claimMode: ClaimMode; roundSize: number }[] = [
  { strategy: 'single: one findOneAndUpdate at a time', claimMode: 'single', roundSize: 1 },
  {
    strategy: 'single: findOneAndUpdate, 16 in flight, rounds of 500 (CLAIM_MODE=single)',
    claimMode: 'single',
    roundSize: 500,
  },
  {
    strategy: 'batch: find ids + updateMany + read back, rounds of 500 (CLAIM_MODE=batch)',
    claimMode: 'batch',
    roundSize: 500,
  },
];

export async function compareClaimStrategies(
  mongoUrl: string,
  records: number,
  backend: string,
): Promise<ClaimResult[]> {
  const client = await MongoClient.connect(mongoUrl);
  const results: ClaimResult[] = [];
  try {
    for (const { strategy, claimMode, roundSize } of STRATEGIES) {
      const db = client.db(`bench_claims_${randomBytes(3).toString('hex')}`);
      const store = new TransactionStore(db);
      const queue = new LeaseQueue(db, undefined, { claimMode });
      await store.ensureIndexes();
      const seedStarted = performance.now();
      await seed(store, records);
      console.log(
        `claims (${backend}): seeded ${records} in ${Math.round(performance.now() - seedStarted)} ms; ${strategy}`,
      );
      const seen = new Set<string>();
      let claims = 0;
      const started = performance.now();
      for (;;) {
        const { claimed } = await queue.claim('bench', LEASE_MS, roundSize);
        if (claimed.length === 0) break;
        claims += claimed.length;
        for (const record of claimed) seen.add(record.transaction_id);
      }
      const seconds = (performance.now() - started) / 1000;
      results.push({
        strategy,
        backend,
        records,
        seconds: Math.round(seconds * 100) / 100,
        claimsPerSecond: Math.round(claims / seconds),
        claimedExactlyOnce: claims === records && seen.size === records,
      });
      await db.dropDatabase();
    }
  } finally {
    await client.close();
  }
  return results;
}
