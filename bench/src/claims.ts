/**
 * Claim strategies side by side on 10,000 due records: one findOneAndUpdate at a time, 32
 * pipelined findOneAndUpdate, and the batched claim the worker uses. Each must claim every record
 * exactly once to count.
 */
import { MongoClient } from 'mongodb';
import { randomBytes } from 'node:crypto';
import { TransactionRepository, transactionWebhookSchema, type ClaimedTransaction } from '@txhook/shared';

export interface ClaimResult {
  strategy: string;
  records: number;
  seconds: number;
  claimsPerSecond: number;
  claimedExactlyOnce: boolean;
}

async function seed(repository: TransactionRepository, count: number): Promise<void> {
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

export async function compareClaimStrategies(mongoUrl: string, records: number): Promise<ClaimResult[]> {
  const strategies: [string, (repo: TransactionRepository) => Promise<ClaimedTransaction[]>][] = [
    [
      'findOneAndUpdate, one at a time',
      async (repo) => {
        const claimed = await repo.claimNext('bench', 60_000);
        return claimed ? [claimed] : [];
      },
    ],
    [
      'findOneAndUpdate, 32 pipelined',
      async (repo) => {
        const claimed = await Promise.all(Array.from({ length: 32 }, () => repo.claimNext('bench', 60_000)));
        return claimed.filter((c): c is ClaimedTransaction => c !== null);
      },
    ],
    ['batched: find ids + updateMany + read back (500)', (repo) => repo.claimBatch('bench', 60_000, 500)],
  ];
  const client = await MongoClient.connect(mongoUrl);
  const results: ClaimResult[] = [];
  try {
    for (const [strategy, claimRound] of strategies) {
      const db = client.db(`bench_claims_${randomBytes(3).toString('hex')}`);
      const repository = new TransactionRepository(db);
      await repository.ensureIndexes();
      const seedStarted = performance.now();
      await seed(repository, records);
      console.log(
        `claims: seeded ${records} in ${Math.round(performance.now() - seedStarted)} ms; ${strategy}`,
      );
      const seen = new Set<string>();
      let claims = 0;
      const started = performance.now();
      for (;;) {
        const claimed = await claimRound(repository);
        if (claimed.length === 0) break;
        claims += claimed.length;
        for (const record of claimed) seen.add(record.transaction_id);
      }
      const seconds = (performance.now() - started) / 1000;
      results.push({
        strategy,
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
