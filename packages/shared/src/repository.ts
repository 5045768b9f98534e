import { randomUUID } from 'node:crypto';
import { InsertCoalescer } from './insert-coalescer';
import {
  MongoServerError,
  type Collection,
  type Db,
  type Filter,
  type IndexDescription,
  type ObjectId,
  type WithId,
} from 'mongodb';
import { DatabaseNotReadyError, DatabaseSetupError } from './mongo';
import { DEFAULT_RETENTION_DAYS, expiryAfter } from './retention';
import type { TransactionWebhook } from './schemas';
import {
  DEFAULT_SOURCE,
  isSamePayload,
  newTransactionDocument,
  TransactionStatus,
  type TransactionDocument,
} from './transaction';

export const TRANSACTIONS_COLLECTION = 'transactions';

/** Every index the service relies on; created at start-up by both apps, checked by GET /readyz. */
export const TRANSACTION_INDEXES = [
  // Idempotency: a transaction is stored once, whatever the number of deliveries.
  { key: { transaction_id: 1 }, name: 'transaction_id_unique', unique: true },
  // Claiming (and so lease-expiry recovery, as due_at is the lease expiry): the oldest due
  // PROCESSING records first; with _id in the key the candidate scan of claimBatch is covered.
  { key: { status: 1, due_at: 1, _id: 1 }, name: 'status_due_at_id' },
  // The lease fence: every fenced write names exactly these three fields by equality, one record
  // per write, so mongo-java-server (which uses an index only when a query's fields equal a unique
  // index's fields) finds the record through it instead of scanning; unique because
  // transaction_id is. MongoDB serves the same writes from it (or transaction_id_unique).
  {
    key: { transaction_id: 1, lease_token: 1, status: 1 },
    name: 'transaction_id_lease_token_status',
    unique: true,
  },
  // Listing newest first (GET /v1/transactions), with and without a status filter.
  { key: { created_at: -1, _id: -1 }, name: 'created_at_id' },
  { key: { status: 1, created_at: -1, _id: -1 }, name: 'status_created_at_id' },
  // Stats: recently PROCESSED records (lag sample, throughput).
  { key: { status: 1, processed_at: -1 }, name: 'status_processed_at' },
  // Retention: MongoDB deletes a terminal record once its expire_at passes (null/unset: never);
  // the worker's sweep (deleteExpired) finds expired records through it too.
  { key: { expire_at: 1 }, name: 'expire_at_ttl', expireAfterSeconds: 0 },
] as const satisfies readonly (IndexDescription & { name: string })[];

/** createIndexes refused: 85 IndexOptionsConflict, 86 IndexKeySpecsConflict. */
const INDEX_CONFLICT_CODES = new Set([85, 86]);

function sameKey(a: object, b: object): boolean {
  return JSON.stringify(Object.entries(a)) === JSON.stringify(Object.entries(b));
}

/** Which FAILED records a redrive requeues; every given part must match. */
export interface RedriveFilter {
  source?: string | undefined;
  /** failed_at >= failedFrom */
  failedFrom?: Date | undefined;
  /** failed_at < failedTo */
  failedTo?: Date | undefined;
  /** last_error starts with this text (taken literally, not as a pattern). */
  lastErrorPrefix?: string | undefined;
}

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export interface RepositoryOptions {
  /** Days terminal records are kept (RETENTION_DAYS); 0 = forever. */
  retentionDays?: number;
}

export type RecordOutcome =
  | { outcome: 'created'; record: TransactionDocument }
  | { outcome: 'duplicate'; record: TransactionDocument }
  | { outcome: 'conflict'; record: TransactionDocument };

/** One lease of one record: what the heartbeat and the fenced writes name. */
export interface LeaseRef {
  transaction_id: string;
  lease_token: string;
}

/** Every claim counts a lease, and one without an outcome until the lease ends with one. */
const CLAIM_COUNTERS = { claims: 1, unsettled_claims: 1 } as const;
/** A call that ended in failure: one attempt spent, and the lease ended with an outcome. */
const FAILED_CALL = { attempts: 1, unsettled_claims: -1 } as const;

/**
 * The filter of every fenced write: the record, only while `leaseToken` is its lease and it is
 * still PROCESSING. Exactly the fields of the unique index transaction_id_lease_token_status, by
 * equality: the only filter shape the embedded server answers from an index.
 */
export function leaseFence(transactionId: string, leaseToken: string) {
  return { transaction_id: transactionId, lease_token: leaseToken, status: TransactionStatus.PROCESSING };
}

/** A record a worker holds a lease on: only `lease_token` lets it finish or release the record. */
export interface ClaimedTransaction extends TransactionDocument {
  lease_token: string;
  lease_owner: string;
  lease_expires_at: Date;
}

/**
 * The one place that knows how transactions are stored. The API records webhooks; workers claim
 * due records with findOneAndUpdate leases and finish them with updates fenced by the lease token.
 */
export class TransactionRepository {
  readonly collection: Collection<TransactionDocument>;
  private readonly inserts: InsertCoalescer<TransactionDocument>;
  private readonly retentionDays: number;

  constructor(
    db: Db,
    private readonly now: () => Date = () => new Date(),
    options: RepositoryOptions = {},
  ) {
    this.retentionDays = options.retentionDays ?? DEFAULT_RETENTION_DAYS;
    this.collection = db.collection<TransactionDocument>(TRANSACTIONS_COLLECTION);
    this.inserts = new InsertCoalescer(this.collection);
  }

  /** The clock lease times come from (the database's, in the worker: see DatabaseClock). */
  clockNow(): Date {
    return this.now();
  }

  /**
   * Idempotent: safe to call from every process at every start. An index already there with one
   * of our keys under another name (or our name with other options) makes MongoDB refuse with
   * code 85/86; retrying cannot fix that, so it is a DatabaseSetupError naming both indexes.
   */
  async ensureIndexes(): Promise<void> {
    try {
      await this.collection.createIndexes([...TRANSACTION_INDEXES]);
    } catch (error) {
      if (!(error instanceof MongoServerError) || !INDEX_CONFLICT_CODES.has(Number(error.code))) throw error;
      throw new DatabaseSetupError(await this.describeIndexConflict(error), { cause: error });
    }
  }

  private async describeIndexConflict(error: MongoServerError): Promise<string> {
    const existing = (await this.collection.listIndexes().toArray()) as { name: string; key: object }[];
    const conflicts = TRANSACTION_INDEXES.flatMap((wanted) =>
      existing
        .filter((index) => index.name !== wanted.name && sameKey(index.key, wanted.key))
        .map(
          (index) =>
            `our index "${wanted.name}" ${JSON.stringify(wanted.key)} conflicts with index "${index.name}"`,
        ),
    );
    const where = `${this.collection.dbName}.${this.collection.collectionName}`;
    const what = conflicts.length > 0 ? conflicts.join('; ') : `an index conflicts: ${error.message}`;
    return (
      `cannot create the indexes of ${where} (MongoDB code ${String(error.code)} ${error.codeName ?? ''}): ` +
      `${what}. Drop or rename the existing index, then start again.`
    );
  }

  /** Names of the indexes the service needs that the collection lacks (readiness check). */
  async missingIndexes(): Promise<string[]> {
    const indexes = (await this.collection.listIndexes().toArray()) as { name?: unknown }[];
    const present = new Set(indexes.map((index) => String(index.name)));
    return TRANSACTION_INDEXES.map((index) => index.name).filter((name) => !present.has(name));
  }

  /**
   * Stores a new webhook as PROCESSING. A redelivery (duplicate key, even from a concurrent
   * request) returns the stored record instead; the same id with other content is a conflict.
   * Concurrent calls share one insertMany round trip (InsertCoalescer).
   */
  async recordWebhook(webhook: TransactionWebhook, source: string = DEFAULT_SOURCE): Promise<RecordOutcome> {
    const createdAt = this.now();
    const record = newTransactionDocument(webhook, createdAt, source);
    if ((await this.inserts.insert(record)) === 'inserted') return { outcome: 'created', record };
    const existing = await this.findByTransactionId(webhook.transaction_id);
    if (!existing) {
      // The key exists but the record is not majority-committed (an earlier insert still waiting
      // for its write concern, or rolled back): nothing durable to answer with, so the sender retries.
      throw new DatabaseNotReadyError(
        `duplicate key for ${webhook.transaction_id} but no durable record yet`,
      );
    }
    return isSamePayload(existing, webhook, source)
      ? { outcome: 'duplicate', record: existing }
      : { outcome: 'conflict', record: existing };
  }

  /**
   * The durable state of a record: majority read concern from the primary, so a redelivery is
   * never told 200 about (nor a reader shown) a write that a failover could still roll back.
   */
  async findByTransactionId(transactionId: string): Promise<WithId<TransactionDocument> | null> {
    return this.collection.findOne(
      { transaction_id: transactionId },
      { readConcern: { level: 'majority' }, readPreference: 'primary' },
    );
  }

  /**
   * Atomically takes the oldest due record: stamps a fresh lease token, pushes `due_at` to the
   * lease expiry (so nobody else can take it meanwhile) and counts the claim.
   */
  async claimNext(owner: string, leaseMs: number): Promise<ClaimedTransaction | null> {
    const now = this.now();
    const expiresAt = new Date(now.getTime() + leaseMs);
    const claimed = await this.collection.findOneAndUpdate(
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
    );
    return claimed as ClaimedTransaction | null;
  }

  /**
   * Claims up to `limit` due records in three round trips instead of `limit`: read the oldest due
   * ids, stamp them all with one fresh lease token in a conditional updateMany, read back what
   * carries the token. The updateMany re-checks "still due" per document, so a record another
   * worker stamped in between is simply not ours: each record is claimed exactly once.
   */
  async claimBatch(owner: string, leaseMs: number, limit: number): Promise<ClaimedTransaction[]> {
    return (await this.claimDue(owner, leaseMs, limit)).claimed;
  }

  /**
   * claimBatch, plus the poison check: a due record already leased `maxClaims` times without an
   * outcome (its call keeps crashing or stalling its worker) is not leased again but FAILED,
   * with a last_error that says why. Returns the ids so failed in `poisoned`.
   */
  async claimDue(
    owner: string,
    leaseMs: number,
    limit: number,
    maxClaims = Number.POSITIVE_INFINITY,
  ): Promise<{ claimed: ClaimedTransaction[]; poisoned: string[] }> {
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
    const claimed = stampedOrNot.filter((doc) => doc.lease_token === leaseToken) as ClaimedTransaction[];
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
    const error =
      `poison record: leased ${maxClaims} times without an outcome (its worker crashed, stalled ` +
      'past its lease or lost the reply each time); not claimed again until requeued';
    await this.collection.updateMany(
      { ...poison, transaction_id: { $in: found.map((doc) => doc.transaction_id) } },
      {
        $set: {
          status: TransactionStatus.FAILED,
          last_error: error,
          failed_at: now,
          expire_at: expiryAfter(now, this.retentionDays),
          lease_owner: null,
          lease_token: null,
          lease_expires_at: null,
        },
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

  /**
   * Heartbeat: extends the leases a worker is still working on, named by record and token, so a
   * lease it has lost (another worker holds a new token) is never extended. Answers, per record,
   * the token under which `owner` leases it now: the given token (renewed), a newer one (the
   * owner claimed it again meanwhile), or nothing (lost to another worker, or finished).
   */
  async renewLeases(
    owner: string,
    leases: readonly LeaseRef[],
    leaseMs: number,
  ): Promise<Map<string, string>> {
    return this.touchLeases(owner, leases, leaseMs, {});
  }

  /**
   * Just before the external calls of `leases` start: counts one call on each record still leased
   * by its token (fenced), renewing the lease in the same write. Answers as renewLeases: only the
   * records still under the given token were counted and may start their call.
   */
  async startCalls(
    owner: string,
    leases: readonly LeaseRef[],
    leaseMs: number,
  ): Promise<Map<string, string>> {
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
    await this.collection.bulkWrite(
      leases.map((lease) => ({
        updateOne: { filter: leaseFence(lease.transaction_id, lease.lease_token), update },
      })),
      { ordered: false },
    );
    // Read by transaction_id alone (index-served) and keep what `owner` holds.
    const records = await this.collection
      .find(
        { transaction_id: { $in: leases.map((lease) => lease.transaction_id) } },
        // The write just made must be seen: read the primary.
        {
          projection: { transaction_id: 1, lease_token: 1, lease_owner: 1, status: 1 },
          readPreference: 'primary',
        },
      )
      .toArray();
    const held = records.filter(
      (doc) => doc.lease_owner === owner && doc.status === TransactionStatus.PROCESSING,
    );
    return new Map(held.map((doc) => [doc.transaction_id, doc.lease_token ?? '']));
  }

  /**
   * Marks the record PROCESSED if, and only if, `leaseToken` is still its lease: a worker that
   * lost its lease (it stalled and another worker took over) cannot overwrite anything.
   */
  markProcessed(transactionId: string, leaseToken: string): Promise<boolean> {
    const processedAt = this.now();
    return this.finishLease(transactionId, leaseToken, {
      status: TransactionStatus.PROCESSED,
      processed_at: processedAt,
      expire_at: expiryAfter(processedAt, this.retentionDays),
    });
  }

  /**
   * markProcessed for many records at once: one fenced updateOne per record, all in one
   * bulkWrite round trip. Returns the ids finished under the given leases; when not all
   * of a token's records matched (another worker took some over, or this is a retry after a lost
   * reply), `finished_lease_token` tells which. Repeating a call changes nothing.
   */
  async markProcessedMany(
    items: readonly { transaction_id: string; lease_token: string }[],
  ): Promise<Set<string>> {
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
              lease_owner: null,
              lease_token: null,
              lease_expires_at: null,
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
    const records = await this.collection
      .find(
        { transaction_id: { $in: ids } },
        { projection: { transaction_id: 1, finished_lease_token: 1, status: 1 } },
      )
      .toArray();
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
  scheduleRetry(transactionId: string, leaseToken: string, error: string, retryAt: Date): Promise<boolean> {
    return this.finishLease(transactionId, leaseToken, { due_at: retryAt, last_error: error }, FAILED_CALL);
  }

  /** After the last allowed attempt failed: FAILED, out of the queue until requeued. Fenced. */
  markFailed(transactionId: string, leaseToken: string, error: string): Promise<boolean> {
    const failedAt = this.now();
    return this.finishLease(
      transactionId,
      leaseToken,
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
   * Gives a record back so another worker may take it at once (used on shutdown). Fenced. Not a
   * failure: `attempts` is untouched, and the lease counts as settled (no poison suspicion).
   */
  releaseLease(transactionId: string, leaseToken: string): Promise<boolean> {
    return this.finishLease(transactionId, leaseToken, { due_at: this.now() }, { unsettled_claims: -1 });
  }

  /**
   * Puts a FAILED record back in line with a fresh attempt budget, recording who did it and when.
   * Only FAILED records move, so calling it again, or on a PROCESSING or PROCESSED record,
   * changes nothing.
   */
  async requeueFailed(transactionId: string, requeuedBy: string): Promise<boolean> {
    const result = await this.collection.updateOne(
      { transaction_id: transactionId, status: TransactionStatus.FAILED },
      { $set: this.requeueChanges(requeuedBy) },
    );
    return result.modifiedCount === 1;
  }

  /**
   * Redrive: requeues at most `limit` FAILED records matching `filter` (oldest failure first) with
   * one conditional updateMany, and answers how many moved. A repeat moves only records that are
   * FAILED at that time, so retrying the call after a lost reply requeues nothing twice.
   */
  async requeueFailedMatching(filter: RedriveFilter, limit: number, requeuedBy: string): Promise<number> {
    const match: Filter<TransactionDocument> = { status: TransactionStatus.FAILED };
    if (filter.source !== undefined) {
      // Records stored before sources existed carry none: they are the default source's.
      if (filter.source === DEFAULT_SOURCE)
        match.$or = [{ source: DEFAULT_SOURCE }, { source: { $exists: false } }];
      else match.source = filter.source;
    }
    if (filter.failedFrom !== undefined || filter.failedTo !== undefined) {
      match.failed_at = {
        ...(filter.failedFrom !== undefined ? { $gte: filter.failedFrom } : {}),
        ...(filter.failedTo !== undefined ? { $lt: filter.failedTo } : {}),
      };
    }
    if (filter.lastErrorPrefix !== undefined) {
      match.last_error = { $regex: `^${escapeRegExp(filter.lastErrorPrefix)}` };
    }
    const candidates = await this.collection
      .find(match, { projection: { _id: 1 }, sort: { failed_at: 1, _id: 1 }, limit })
      .toArray();
    if (candidates.length === 0) return 0;
    const result = await this.collection.updateMany(
      { _id: { $in: candidates.map((candidate) => candidate._id) }, status: TransactionStatus.FAILED },
      { $set: this.requeueChanges(requeuedBy) },
    );
    return result.modifiedCount;
  }

  /**
   * Back to PROCESSING, due now, fresh budget. The error of the failed run is cleared with it:
   * kept, it made the record look like one waiting for a retry (a bogus next_attempt_at).
   */
  private requeueChanges(requeuedBy: string): Partial<TransactionDocument> {
    const now = this.now();
    return {
      status: TransactionStatus.PROCESSING,
      due_at: now,
      attempts: 0,
      // A fresh poison budget too; `calls` and `claims` keep the whole history.
      unsettled_claims: 0,
      failed_at: null,
      // Not terminal any more: nothing to expire.
      expire_at: null,
      last_error: null,
      requeued_by: requeuedBy,
      requeued_at: now,
    };
  }

  /**
   * Deletes up to `limit` terminal records whose expire_at has passed; returns how many. What the
   * TTL index does on MongoDB, for servers that do not expire (the embedded one); harmless where
   * TTL runs. The delete re-checks status and expiry, so a record requeued in between stays, and
   * a PROCESSING record is never deleted.
   */
  async deleteExpired(limit: number): Promise<number> {
    const expired = {
      status: { $in: [TransactionStatus.PROCESSED, TransactionStatus.FAILED] },
      expire_at: { $lte: this.now() },
    };
    const batch = await this.collection.find(expired, { projection: { _id: 1 }, limit }).toArray();
    if (batch.length === 0) return 0;
    const result = await this.collection.deleteMany({
      ...expired,
      _id: { $in: batch.map((doc) => doc._id) },
    });
    return result.deletedCount;
  }

  /**
   * Ends a lease with `changes`, only while `leaseToken` is the record's current lease and the
   * record is still PROCESSING: the fence that makes every outcome happen once.
   */
  private async finishLease(
    transactionId: string,
    leaseToken: string,
    changes: Partial<TransactionDocument>,
    increments: Partial<Record<'attempts' | 'unsettled_claims', number>> = {},
  ): Promise<boolean> {
    const result = await this.collection.updateOne(leaseFence(transactionId, leaseToken), {
      $set: { ...changes, lease_owner: null, lease_token: null, lease_expires_at: null },
      ...(Object.keys(increments).length > 0 ? { $inc: increments } : {}),
    });
    return result.modifiedCount === 1;
  }
}
