import { randomUUID } from 'node:crypto';
import type { Collection, Db, ObjectId } from 'mongodb';
import { DEFAULT_CLAIM_MODE, type ClaimMode } from './claim-mode';
import { TRANSACTIONS_COLLECTION } from './transaction-store';
import { DEFAULT_RETENTION_DAYS, expiryAfter } from './retention';
import { TransactionStatus, type TransactionDocument } from './transaction';

/** One lease of one record: what the heartbeat and the fenced writes name. */
export interface LeaseRef {
  transaction_id: string;
  lease_token: string;
}

/** A record a worker holds a lease on: only `lease_token` lets it finish or release the record. */
export interface ClaimedTransaction extends TransactionDocument {
  lease_token: string;
  lease_owner: string;
  lease_expires_at: Date;
}

/** What one round of claiming got: records now leased, and ids it failed as poison instead. */
export interface ClaimRound {
  claimed: ClaimedTransaction[];
  poisoned: string[];
}

export interface LeaseQueueOptions {
  /** Days terminal records are kept (RETENTION_DAYS); 0 = forever. */
  retentionDays?: number;
  /** The claim primitive (CLAIM_MODE); DEFAULT_CLAIM_MODE unless told otherwise. */
  claimMode?: ClaimMode;
  /** single mode: most findOneAndUpdate claims in flight at once. */
  claimLanes?: number;
}

/** Every claim counts a lease, and one without an outcome until the lease ends with one. */
const CLAIM_COUNTERS = { claims: 1, unsettled_claims: 1 } as const;
/** A call that ended in failure: one attempt spent, and the lease ended with an outcome. */
const FAILED_CALL = { attempts: 1, unsettled_claims: -1 } as const;
const DEFAULT_CLAIM_LANES = 16;
/**
 * Most ids in one `$in` read-back. The embedded server compares every candidate with every listed
 * id while it holds the collection's lock (n² per read): 256 keeps one read to milliseconds.
 */
export const READ_BACK_CHUNK = 256;
/**
 * A claimed record copied into one fixed object shape. The driver decodes each document into a
 * dictionary-mode object (its properties in a hash table of its own, ~0.9 KB in V8); a worker
 * keeps one per call in flight for the whole call, thousands at once, and a fixed shape shared by
 * all of them takes about a quarter (bench/analysis.md, worker RSS). Every stored field is kept.
 */
function inFixedShape(doc: ClaimedTransaction & { _id?: unknown }): ClaimedTransaction {
  return {
    _id: doc._id,
    transaction_id: doc.transaction_id,
    source_account: doc.source_account,
    destination_account: doc.destination_account,
    amount: doc.amount,
    currency: doc.currency,
    status: doc.status,
    created_at: doc.created_at,
    processed_at: doc.processed_at,
    due_at: doc.due_at,
    calls: doc.calls,
    attempts: doc.attempts,
    claims: doc.claims,
    unsettled_claims: doc.unsettled_claims,
    last_error: doc.last_error,
    failed_at: doc.failed_at,
    lease_owner: doc.lease_owner,
    lease_token: doc.lease_token,
    lease_expires_at: doc.lease_expires_at,
    finished_lease_token: doc.finished_lease_token,
    source: doc.source,
    requeued_by: doc.requeued_by,
    requeued_at: doc.requeued_at,
    expire_at: doc.expire_at,
  } as ClaimedTransaction;
}

/** What every end of a lease writes: nobody holds the record any more. */
const NO_LEASE = { lease_owner: null, lease_token: null, lease_expires_at: null } as const;

/**
 * The filter of every fenced write: the record, only while `leaseToken` is its lease and it is
 * still PROCESSING. Exactly the fields of the unique index transaction_id_lease_token_status, by
 * equality: the only filter shape the embedded server answers from an index.
 */
export function leaseFence(transactionId: string, leaseToken: string) {
  return { transaction_id: transactionId, lease_token: leaseToken, status: TransactionStatus.PROCESSING };
}

const poisonError = (maxClaims: number) =>
  `poison record: leased ${maxClaims} times without an outcome (its worker crashed, stalled ` +
  'past its lease or lost the reply each time); not claimed again until requeued';

/**
 * The work queue the worker runs on, stored in the transactions collection: claims due records
 * under leases (a fresh token each, expiring with the database's clock), renews them, counts the
 * calls it starts, and ends each lease with exactly one fenced outcome (processed, retry, failed,
 * released). A lease gets any of these writes only while its token is the record's current one.
 */
export class LeaseQueue {
  readonly collection: Collection<TransactionDocument>;
  private readonly retentionDays: number;
  readonly claimMode: ClaimMode;
  private readonly claimLanes: number;

  constructor(
    db: Db,
    private readonly now: () => Date = () => new Date(),
    options: LeaseQueueOptions = {},
  ) {
    this.collection = db.collection<TransactionDocument>(TRANSACTIONS_COLLECTION);
    this.retentionDays = options.retentionDays ?? DEFAULT_RETENTION_DAYS;
    this.claimMode = options.claimMode ?? DEFAULT_CLAIM_MODE;
    this.claimLanes = Math.max(1, options.claimLanes ?? DEFAULT_CLAIM_LANES);
  }

  /** The clock lease times come from (the database's, in the worker: see DatabaseClock). */
  clockNow(): Date {
    return this.now();
  }

  /**
   * Leases up to `limit` due records, oldest first, each exactly once across workers. A due record
   * already leased `maxClaims` times without an outcome (its call keeps crashing or stalling its
   * worker) is not handed out but FAILED with a last_error that says why; its id is in `poisoned`.
   */
  claim(
    owner: string,
    leaseMs: number,
    limit: number,
    maxClaims = Number.POSITIVE_INFINITY,
  ): Promise<ClaimRound> {
    return this.claimMode === 'single'
      ? this.claimEach(owner, leaseMs, limit, maxClaims)
      : this.claimBatch(owner, leaseMs, limit, maxClaims);
  }

  /**
   * single mode: one findOneAndUpdate probes; only when it finds work do up to `claimLanes` more
   * run side by side until `limit` is reached or the queue is empty, so an idle poll costs one
   * round trip and a busy one fills the free slots without waiting for each reply in turn.
   */
  private async claimEach(
    owner: string,
    leaseMs: number,
    limit: number,
    maxClaims: number,
  ): Promise<ClaimRound> {
    const round: ClaimRound = { claimed: [], poisoned: [] };
    let budget = limit;
    let empty = false;
    const lane = async (): Promise<void> => {
      while (budget > 0 && !empty) {
        budget -= 1;
        const outcome = await this.claimOne(owner, leaseMs, maxClaims);
        if (outcome === null) empty = true;
        else if ('poisoned' in outcome) round.poisoned.push(outcome.poisoned);
        else round.claimed.push(outcome.claimed);
      }
    };
    budget -= 1;
    const first = await this.claimOne(owner, leaseMs, maxClaims);
    if (first === null) return round;
    if ('poisoned' in first) round.poisoned.push(first.poisoned);
    else round.claimed.push(first.claimed);
    await Promise.all(Array.from({ length: Math.min(budget, this.claimLanes) }, lane));
    return round;
  }

  /**
   * Atomically takes the oldest due record: a fresh lease token, `due_at` pushed to the lease
   * expiry (so nobody else can take it meanwhile), the claim counted. A record that this claim
   * shows to be poison is failed at once under the lease just taken, its counters put back.
   */
  private async claimOne(
    owner: string,
    leaseMs: number,
    maxClaims: number,
  ): Promise<{ claimed: ClaimedTransaction } | { poisoned: string } | null> {
    const now = this.now();
    const expiresAt = new Date(now.getTime() + leaseMs);
    const claimed = (await this.collection.findOneAndUpdate(
      { status: TransactionStatus.PROCESSING, due_at: { $lte: now } },
      {
        $set: {
          lease_owner: owner,
          lease_token: randomUUID(),
          lease_expires_at: expiresAt,
          due_at: expiresAt,
        },
        $inc: CLAIM_COUNTERS,
      },
      { sort: { due_at: 1 }, returnDocument: 'after' },
    )) as ClaimedTransaction | null;
    if (claimed === null) return null;
    // After the increment: above maxClaims means it had maxClaims unsettled leases already.
    if (claimed.unsettled_claims <= maxClaims) return { claimed: inFixedShape(claimed) };
    const failed = await this.endLease(
      claimed.transaction_id,
      claimed.lease_token,
      this.poisonChanges(now, maxClaims),
      // This claim is not one: as the batched claim, a poison record keeps its counts.
      { claims: -1, unsettled_claims: -1 },
    );
    return failed ? { poisoned: claimed.transaction_id } : null;
  }

  /**
   * batch mode: up to `limit` due records in three round trips instead of `limit`: read the
   * oldest due ids, stamp them all with one fresh lease token in a conditional updateMany, read
   * back what carries the token. The updateMany re-checks "still due" per document, so a record
   * another worker stamped in between is simply not ours: each record is claimed exactly once.
   */
  private async claimBatch(
    owner: string,
    leaseMs: number,
    limit: number,
    maxClaims: number,
  ): Promise<ClaimRound> {
    const now = this.now();
    const due = { status: TransactionStatus.PROCESSING, due_at: { $lte: now } };
    const candidates = await this.collection
      .find(due, { projection: { _id: 1 }, sort: { due_at: 1 }, limit })
      .toArray();
    if (candidates.length === 0) return { claimed: [], poisoned: [] };
    const candidateIds = { $in: candidates.map((candidate) => candidate._id) };
    const bounded = Number.isFinite(maxClaims);
    const leaseToken = randomUUID();
    const expiresAt = new Date(now.getTime() + leaseMs);
    const stamped = await this.collection.updateMany(
      // `$not $gte` also matches records stored before the counter existed.
      { ...due, _id: candidateIds, ...(bounded ? { unsettled_claims: { $not: { $gte: maxClaims } } } : {}) },
      {
        $set: { lease_owner: owner, lease_token: leaseToken, lease_expires_at: expiresAt, due_at: expiresAt },
        $inc: CLAIM_COUNTERS,
      },
    );
    let poisoned: string[] = [];
    // Fewer stamped than read: another worker took some, or some are poison.
    if (bounded && stamped.modifiedCount < candidates.length) {
      poisoned = await this.failPoisoned(candidateIds, now, maxClaims);
    }
    if (stamped.modifiedCount === 0) return { claimed: [], poisoned };
    // Read back by _id (index-served everywhere) and keep what carries our token.
    const stampedOrNot = await this.collection
      .find({ _id: candidateIds }, { readPreference: 'primary' })
      .toArray();
    const claimed = (
      stampedOrNot.filter((doc) => doc.lease_token === leaseToken) as ClaimedTransaction[]
    ).map(inFixedShape);
    return { claimed, poisoned };
  }

  private async failPoisoned(ids: { $in: ObjectId[] }, now: Date, maxClaims: number): Promise<string[]> {
    const poison = {
      status: TransactionStatus.PROCESSING,
      due_at: { $lte: now },
      _id: ids,
      unsettled_claims: { $gte: maxClaims },
    } as const;
    // Read by _id alone (index-served) and test the rest here; the update below re-checks it all.
    const found = (
      await this.collection
        .find(
          { _id: ids },
          {
            projection: { transaction_id: 1, status: 1, due_at: 1, unsettled_claims: 1 },
            readPreference: 'primary',
          },
        )
        .toArray()
    ).filter(
      (doc) =>
        doc.status === TransactionStatus.PROCESSING &&
        doc.due_at <= now &&
        (doc.unsettled_claims ?? 0) >= maxClaims,
    );
    if (found.length === 0) return [];
    await this.collection.updateMany(
      { ...poison, transaction_id: { $in: found.map((doc) => doc.transaction_id) } },
      {
        $set: { ...this.poisonChanges(now, maxClaims), ...NO_LEASE },
      },
    );
    // Read back: only those we moved (a concurrent worker may have failed the same ones).
    const failed = await this.collection
      .find(
        { transaction_id: { $in: found.map((doc) => doc.transaction_id) } },
        { projection: { transaction_id: 1, status: 1, failed_at: 1 }, readPreference: 'primary' },
      )
      .toArray();
    return failed
      .filter((doc) => doc.status === TransactionStatus.FAILED && doc.failed_at?.getTime() === now.getTime())
      .map((doc) => doc.transaction_id);
  }

  private poisonChanges(now: Date, maxClaims: number): Partial<TransactionDocument> {
    return {
      status: TransactionStatus.FAILED,
      last_error: poisonError(maxClaims),
      failed_at: now,
      expire_at: expiryAfter(now, this.retentionDays),
    };
  }

  /**
   * Heartbeat: extends the leases a worker is still working on, named by record and token, so a
   * lease it has lost (another worker holds a new token) is never extended. Answers, per record,
   * the token under which `owner` leases it now: the given token (renewed), a newer one (the
   * owner claimed it again meanwhile), or nothing (lost to another worker, or finished).
   */
  renew(owner: string, leases: readonly LeaseRef[], leaseMs: number): Promise<Map<string, string>> {
    return this.touchLeases(owner, leases, leaseMs, {});
  }

  /**
   * Just before the external calls of `leases` start: counts one call on each record still leased
   * by its token (fenced), renewing the lease in the same write. Answers as renew: only the
   * records still under the given token were counted and may start their call.
   */
  startCalls(owner: string, leases: readonly LeaseRef[], leaseMs: number): Promise<Map<string, string>> {
    return this.touchLeases(owner, leases, leaseMs, { calls: 1 });
  }

  private async touchLeases(
    owner: string,
    leases: readonly LeaseRef[],
    leaseMs: number,
    increments: Partial<Record<'calls', number>>,
  ): Promise<Map<string, string>> {
    if (leases.length === 0) return new Map();
    const expiresAt = new Date(this.now().getTime() + leaseMs);
    const update = {
      $set: { lease_expires_at: expiresAt, due_at: expiresAt },
      ...(Object.keys(increments).length > 0 ? { $inc: increments } : {}),
    };
    // One fenced updateOne per lease, in one round trip: each is answered from the fence index.
    const result = await this.collection.bulkWrite(
      leases.map((lease) => ({
        updateOne: { filter: leaseFence(lease.transaction_id, lease.lease_token), update },
      })),
      { ordered: false },
    );
    // Every fence matched: each record is still PROCESSING under the token given (tokens are
    // fresh per claim, so its owner's), and nothing needs reading back.
    if (result.matchedCount === leases.length) {
      return new Map(leases.map((lease) => [lease.transaction_id, lease.lease_token]));
    }
    // Some lease is not (or no longer) ours: read by transaction_id alone (index-served) and keep
    // what `owner` holds. The write just made must be seen: read the primary.
    const records = await this.readBack(
      leases.map((lease) => lease.transaction_id),
      { transaction_id: 1, lease_token: 1, lease_owner: 1, status: 1 },
    );
    const held = records.filter(
      (doc) => doc.lease_owner === owner && doc.status === TransactionStatus.PROCESSING,
    );
    return new Map(held.map((doc) => [doc.transaction_id, doc.lease_token ?? '']));
  }

  /**
   * The records of `ids`, read by transaction_id (index-served) from the primary, READ_BACK_CHUNK
   * ids per query one after another, so the embedded server's per-query lock stays short and
   * inserts interleave. Real MongoDB answers either shape from the index.
   */
  private async readBack(
    ids: readonly string[],
    projection: Partial<Record<keyof TransactionDocument, 1>>,
  ): Promise<TransactionDocument[]> {
    const records: TransactionDocument[] = [];
    for (let start = 0; start < ids.length; start += READ_BACK_CHUNK) {
      const chunk = ids.slice(start, start + READ_BACK_CHUNK);
      records.push(
        ...(await this.collection
          .find({ transaction_id: { $in: chunk } }, { projection, readPreference: 'primary' })
          .toArray()),
      );
    }
    return records;
  }

  /**
   * Marks records PROCESSED, each only while its given lease is current: one fenced updateOne per
   * record, all in one bulkWrite round trip. Returns the ids finished under the given leases;
   * when not all matched (another worker took some over, or this is a retry after a lost reply),
   * `finished_lease_token` tells which. Repeating a call changes nothing.
   */
  async finish(items: readonly LeaseRef[]): Promise<Set<string>> {
    if (items.length === 0) return new Set();
    const processedAt = this.now();
    const result = await this.collection.bulkWrite(
      items.map((item) => ({
        updateOne: {
          filter: leaseFence(item.transaction_id, item.lease_token),
          update: {
            $set: {
              status: TransactionStatus.PROCESSED,
              processed_at: processedAt,
              expire_at: expiryAfter(processedAt, this.retentionDays),
              finished_lease_token: item.lease_token,
              ...NO_LEASE,
            },
          },
        },
      })),
      { ordered: false },
    );
    const ids = items.map((item) => item.transaction_id);
    if (result.modifiedCount === items.length) return new Set(ids);
    // Read by transaction_id alone (index-served) and keep those finished under a given lease.
    const given = new Set(items.map((item) => `${item.transaction_id}\u0000${item.lease_token}`));
    const records = await this.readBack(ids, { transaction_id: 1, finished_lease_token: 1, status: 1 });
    return new Set(
      records
        .filter(
          (doc) =>
            doc.status === TransactionStatus.PROCESSED &&
            given.has(`${doc.transaction_id}\u0000${doc.finished_lease_token ?? ''}`),
        )
        .map((doc) => doc.transaction_id),
    );
  }

  /** After a failed attempt: due again at `retryAt` (the backoff), with the error kept. Fenced. */
  retry(lease: LeaseRef, error: string, retryAt: Date): Promise<boolean> {
    return this.endLease(
      lease.transaction_id,
      lease.lease_token,
      { due_at: retryAt, last_error: error },
      FAILED_CALL,
    );
  }

  /** After the last allowed attempt failed: FAILED, out of the queue until requeued. Fenced. */
  fail(lease: LeaseRef, error: string): Promise<boolean> {
    const failedAt = this.now();
    return this.endLease(
      lease.transaction_id,
      lease.lease_token,
      {
        status: TransactionStatus.FAILED,
        last_error: error,
        failed_at: failedAt,
        expire_at: expiryAfter(failedAt, this.retentionDays),
      },
      FAILED_CALL,
    );
  }

  /**
   * Gives a record back so another worker may take it at once (shutdown, or a claim whose call
   * never started). Fenced. Not a failure: `attempts` is untouched, and the lease counts as
   * settled (no poison suspicion).
   */
  release(lease: LeaseRef): Promise<boolean> {
    return this.endLease(
      lease.transaction_id,
      lease.lease_token,
      { due_at: this.now() },
      { unsettled_claims: -1 },
    );
  }

  /**
   * Ends a lease with `changes`, only while `leaseToken` is the record's current lease and the
   * record is still PROCESSING: the fence that makes every outcome happen once.
   */
  private async endLease(
    transactionId: string,
    leaseToken: string,
    changes: Partial<TransactionDocument>,
    increments: Partial<Record<'attempts' | 'claims' | 'unsettled_claims', number>>,
  ): Promise<boolean> {
    const result = await this.collection.updateOne(leaseFence(transactionId, leaseToken), {
      $set: { ...changes, ...NO_LEASE },
      $inc: increments,
    });
    return result.modifiedCount === 1;
  }
}
