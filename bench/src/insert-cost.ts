/**
 * What each of the service's indexes costs the embedded server per insert:
 * `bash scripts/ts.sh bench/src/insert-cost.ts [rounds]` (default 2).
 * Four set-ups on fresh memory-backend servers, one after another, each round: every index the
 * service creates; without the three that serve only operator queries (listing and stats); the
 * two unique indexes alone; every index with the secondary indexes off (the library's behaviour).
 * Each inserts 20,000 new records as the API does (unordered insertMany of 32, durable write
 * concern, 4 in flight) and reports the wall time and the database process's CPU.
 */
import { MongoClient, type Collection, type Document } from 'mongodb';
import { TRANSACTION_INDEXES, newTransactionDocument } from '@txhook/transactions';
import { startEmbeddedMongo } from '@txhook/embedded-mongo';
import { webhook } from './growth';
import { cpuSeconds, loadAverage } from './harness';

const rounds = Number(process.argv[2] ?? 2);
const RECORDS = 20_000;
const BATCH = 32;
const IN_FLIGHT = 4;

type IndexName = (typeof TRANSACTION_INDEXES)[number]['name'];

const SETUPS: { label: string; secondaryIndexes: boolean; indexes: readonly IndexName[] | 'all' }[] = [
  { label: 'every index', secondaryIndexes: true, indexes: 'all' },
  {
    label: 'without the listing and stats indexes',
    secondaryIndexes: true,
    indexes: [
      'transaction_id_unique',
      'status_due_at_id',
      'transaction_id_lease_token_status',
      'expire_at_ttl',
    ],
  },
  {
    label: 'unique indexes only',
    secondaryIndexes: true,
    indexes: ['transaction_id_unique', 'transaction_id_lease_token_status'],
  },
  { label: 'every index, secondary indexes off', secondaryIndexes: false, indexes: 'all' },
];

let sequence = 0;
async function insertBatch(collection: Collection<Document>): Promise<void> {
  const documents = Array.from({ length: BATCH }, () => {
    sequence += 1;
    return newTransactionDocument(webhook(`insert-cost-${sequence}`), new Date());
  });
  await collection.insertMany(documents, { ordered: false, writeConcern: { w: 'majority', j: true } });
}

async function measure(setup: (typeof SETUPS)[number]) {
  const server = await startEmbeddedMongo({ backend: 'memory', secondaryIndexes: setup.secondaryIndexes });
  const client = await MongoClient.connect(server.url);
  try {
    const collection = client.db('insert_cost').collection('transactions');
    const indexes = TRANSACTION_INDEXES.filter(
      (index) => setup.indexes === 'all' || setup.indexes.includes(index.name),
    );
    await collection.createIndexes(indexes.map((index) => ({ ...index })));
    for (let i = 0; i < 50; i += 1) await insertBatch(collection); // warm-up
    const cpuBefore = cpuSeconds(server.process.pid);
    const started = performance.now();
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        for (let i = 0; i < RECORDS / BATCH / IN_FLIGHT; i += 1) await insertBatch(collection);
      }),
    );
    const wallMs = performance.now() - started;
    const databaseCpuSeconds = cpuSeconds(server.process.pid) - cpuBefore;
    return {
      setup: setup.label,
      indexes: indexes.length,
      wallMs: Math.round(wallMs),
      databaseCpuSeconds: Math.round(databaseCpuSeconds * 100) / 100,
      databaseCpuMicrosecondsPerInsert: Math.round((databaseCpuSeconds * 1e6) / RECORDS),
    };
  } finally {
    await client.close();
    await server.stop();
  }
}

async function main() {
  console.log(`insert-cost: load average ${loadAverage()}`);
  for (let round = 1; round <= rounds; round += 1) {
    for (const setup of SETUPS) console.log(`round ${round}`, JSON.stringify(await measure(setup)));
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
