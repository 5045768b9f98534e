import { InsertCoalescer } from '@txhook/platform';
import {
  MongoServerError,
  type Collection,
  type Db,
  type Filter,
  type IndexDescription,
  type WithId,
} from 'mongodb';
import { DatabaseNotReadyError, DatabaseSetupError } from '@txhook/platform';
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

export type RecordOutcome =
  | { outcome: 'created'; record: TransactionDocument }
  | { outcome: 'duplicate'; record: TransactionDocument }
  | { outcome: 'conflict'; record: TransactionDocument };

/**
 * The ingest and operator side of the transactions collection: its indexes, recording webhooks
 * (idempotently), reading them, requeueing FAILED ones and deleting expired ones. What workers do
 * with due records (claims, leases, fenced outcomes) is the LeaseQueue's (lease-queue.ts).
 */
export class TransactionStore {
  readonly collection: Collection<TransactionDocument>;
  private readonly inserts: InsertCoalescer<TransactionDocument>;

  constructor(
    db: Db,
    protected readonly now: () => Date = () => new Date(),
  ) {
    this.collection = db.collection<TransactionDocument>(TRANSACTIONS_COLLECTION);
    this.inserts = new InsertCoalescer(this.collection);
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
}
