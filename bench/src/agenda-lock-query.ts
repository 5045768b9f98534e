/**
 * Why the Agenda peer stalls on the stand-in with its secondary indexes (bench/analysis.md,
 * "Agenda on the stand-in: where the time goes"). Agenda locks one job per `findAndModify`
 * (name, `disabled: {$ne: true}`, an `$or` on `lockedAt`, sort `{nextRunAt: 1, priority: -1}`);
 * with its index the stand-in walks the jobs in `nextRunAt` order and passes over every job
 * already locked before it finds one to lock. This times that query alone, one client, after
 * `locked` of `total` jobs are locked, indexes on and off: one lock costs in proportion to the
 * jobs already locked, so locking n jobs costs n²/2 of those steps.
 *
 *   bash scripts/ts.sh bench/src/agenda-lock-query.ts           # the query alone
 *   bash scripts/ts.sh bench/src/agenda-lock-query.ts drain 3000 # drainAgenda alone, both set-ups
 */
import { MongoClient } from 'mongodb';
import { startEmbeddedMongo } from '@txhook/embedded-mongo';
import { drainAgenda } from './drain';

const JOB = 'process-transaction';
const QUERIES = 21;

/** Agenda 6.2.6's lock query (@agendajs/mongo-backend `getNextJobToRun`), as it sends it. */
function lockQuery(nextScanAt: Date, lockDeadline: Date) {
  return {
    name: JOB,
    disabled: { $ne: true },
    $or: [{ lockedAt: { $eq: null }, nextRunAt: { $lte: nextScanAt } }, { lockedAt: { $lte: lockDeadline } }],
  };
}

async function timeLockQuery(secondaryIndexes: boolean, total: number, locked: number): Promise<string> {
  const database = await startEmbeddedMongo({ backend: 'memory', secondaryIndexes });
  const client = await MongoClient.connect(database.url);
  try {
    const jobs = client.db('agenda_lock_query').collection('agendaJobs');
    // Agenda's own index (MongoJobRepository.connect), keys in its order.
    await jobs.createIndex(
      { name: 1, nextRunAt: 1, priority: -1, lockedAt: 1, disabled: 1 },
      { name: 'findAndLockNextJobIndex' },
    );
    const start = Date.now();
    for (let first = 0; first < total; first += 1000) {
      await jobs.insertMany(
        Array.from({ length: Math.min(1000, total - first) }, (_, offset) => {
          const i = first + offset;
          return {
            name: JOB,
            data: { transaction_id: `agenda-${i}` },
            type: 'normal',
            priority: 0,
            nextRunAt: new Date(start + Math.floor(i / 2)), // about two jobs per millisecond
            lockedAt: i < locked ? new Date() : null, // the earliest are locked, as Agenda leaves them
            lastModifiedBy: null,
          };
        }),
      );
    }
    const millis: number[] = [];
    for (let i = 0; i < QUERIES; i++) {
      const began = performance.now();
      const job = await jobs.findOneAndUpdate(
        lockQuery(new Date(start + total), new Date(start - 60_000)),
        { $set: { lockedAt: new Date(), lastModifiedBy: null } },
        { returnDocument: 'after', sort: { nextRunAt: 1, priority: -1 } },
      );
      millis.push(performance.now() - began);
      if (!job) throw new Error('no job to lock: the set-up is wrong');
    }
    millis.sort((a, b) => a - b);
    const median = millis[Math.floor(QUERIES / 2)] ?? 0;
    const max = millis[QUERIES - 1] ?? 0;
    return `| ${secondaryIndexes ? 'on' : 'off'} | ${total.toLocaleString('en')} | ${locked.toLocaleString('en')} | ${median.toFixed(1)} | ${max.toFixed(1)} |`;
  } finally {
    await client.close();
    await database.stop();
  }
}

async function drainAlone(jobs: number): Promise<void> {
  console.log('| secondary indexes | jobs | finished | enqueue s | drained s |');
  console.log('| --- | ---: | ---: | ---: | ---: |');
  for (const secondaryIndexes of [true, false]) {
    const database = await startEmbeddedMongo({ backend: 'memory', secondaryIndexes });
    try {
      const result = await drainAgenda(database.url, jobs, 240_000);
      console.log(
        `| ${secondaryIndexes ? 'on' : 'off'} | ${jobs.toLocaleString('en')} | ${result.finished.toLocaleString('en')} | ${result.ingestSeconds} | ${result.totalSeconds} |`,
      );
    } finally {
      await database.stop();
    }
  }
}

async function main(): Promise<void> {
  if (process.argv[2] === 'drain') return drainAlone(Number(process.argv[3] ?? 3000));
  console.log(`Agenda's lock query, ${QUERIES} in a row, one client, memory backend`);
  console.log('| secondary indexes | jobs | locked before | median ms | max ms |');
  console.log('| --- | ---: | ---: | ---: | ---: |');
  for (const locked of [0, 1000, 5000, 9000]) {
    for (const secondaryIndexes of [true, false])
      console.log(await timeLockQuery(secondaryIndexes, 10_000, locked));
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
