import { randomUUID } from 'node:crypto';
import { InsertCoalescer } from './insert-coalescer';
import type { Collection, Db, IndexDescription, WithId } from 'mongodb';
import { DEFAULT_RETENTION_DAYS, expiryAfter } from './retention';
import type { TransactionWebhook } from './schemas';
import {
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
  // Heartbeats and fenced updates find a record by its lease token.
  { key: { lease_token: 1 }, name: 'lease_token' },
  // Listing newest first (GET /v1/transactions), with and without a status filter.
  { key: { created_at: -1, _id: -1 }, name: 'created_at_id' },
  { key: { status: 1, created_at: -1, _id: -1 }, name: 'status_created_at_id' },
  // Stats: recently PROCESSED records (lag sample, throughput).
  { key: { status: 1, processed_at: -1 }, name: 'status_processed_at' },
  // Retention: MongoDB deletes a terminal record once its expire_at passes (null/unset: never);
  // the worker's sweep (deleteExpired) finds expired records through it too.
  { key: { expire_at: 1 }, name: 'expire_at_ttl', expireAfterSeconds: 0 },
] as const satisfies readonly (IndexDescription & { name: string })[];

export interface RepositoryOptions {
  /** Days terminal records are kept (RETENTION_DAYS); 0 = forever. */
  retentionDays?: number;
}

export type RecordOutcome =
  | { outcome: 'created'; record: TransactionDocument }
  | { outcome: 'duplicate'; record: TransactionDocument }
  | { outcome: 'conflict'; record: TransactionDocument };

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

  /** Idempotent: safe to call from every process at every start. */
  async ensureIndexes(): Promise<void> {
    await this.collection.createIndexes([...TRANSACTION_INDEXES]);
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
  async recordWebhook(webhook: TransactionWebhook): Promise<RecordOutcome> {
    const createdAt = this.now();
    const record = newTransactionDocument(webhook, createdAt);
    if ((await this.inserts.insert(record)) === 'inserted') return { outcome: 'created', record };
    const existing = await this.findByTransactionId(webhook.transaction_id);
    if (!existing) {
      // Only possible if the record was deleted between our insert and this read.
      throw new Error(`duplicate key for ${webhook.transaction_id} but no record found`);
    }
    return isSamePayload(existing, webhook)
      ? { outcome: 'duplicate', record: existing }
      : { outcome: 'conflict', record: existing };
  }

  async findByTransactionId(transactionId: string): Promise<WithId<TransactionDocument> | null> {
    return this.collection.findOne({ transaction_id: transactionId });
  }

  /**
   * Atomically takes the oldest due record: stamps a fresh lease token, pushes `due_at` to the
   * lease expiry (so nobody else can take it meanwhile) and counts the attempt.
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
        $inc: { attempts: 1 },
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
    const now = this.now();
    const due = { status: TransactionStatus.PROCESSING, due_at: { $lte: now } };
    const candidates = await this.collection
      .find(due, { projection: { _id: 1 }, sort: { due_at: 1 }, limit })
      .toArray();
    if (candidates.length === 0) return [];
    const leaseToken = randomUUID();
    const expiresAt = new Date(now.getTime() + leaseMs);
    const stamped = await this.collection.updateMany(
      { ...due, _id: { $in: candidates.map((candidate) => candidate._id) } },
      {
        $set: { lease_owner: owner, lease_token: leaseToken, lease_expires_at: expiresAt, due_at: expiresAt },
        $inc: { attempts: 1 },
      },
    );
    if (stamped.modifiedCount === 0) return [];
    return (await this.collection.find({ lease_token: leaseToken }).toArray()) as ClaimedTransaction[];
  }

  /**
   * Heartbeat: extends the leases a worker is still working on, named by their tokens, so a lease
   * it has lost (another worker holds a new token) is never extended. Returns how many were.
   */
  async renewLeases(leaseTokens: readonly string[], leaseMs: number): Promise<number> {
    if (leaseTokens.length === 0) return 0;
    const expiresAt = new Date(this.now().getTime() + leaseMs);
    const result = await this.collection.updateMany(
      { lease_token: { $in: [...leaseTokens] }, status: TransactionStatus.PROCESSING },
      { $set: { lease_expires_at: expiresAt, due_at: expiresAt } },
    );
    return result.modifiedCount;
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
   * markProcessed for many records at once (records claimed together share their lease token):
   * one fenced updateMany per token. Returns the ids finished under the given leases; when not all
   * of a token's records matched (another worker took some over, or this is a retry after a lost
   * reply), `finished_lease_token` tells which. Repeating a call changes nothing.
   */
  async markProcessedMany(
    items: readonly { transaction_id: string; lease_token: string }[],
  ): Promise<Set<string>> {
    const byToken = new Map<string, string[]>();
    for (const item of items)
      byToken.set(item.lease_token, [...(byToken.get(item.lease_token) ?? []), item.transaction_id]);
    const finished = new Set<string>();
    const processedAt = this.now();
    for (const [leaseToken, ids] of byToken) {
      const result = await this.collection.updateMany(
        { transaction_id: { $in: ids }, lease_token: leaseToken, status: TransactionStatus.PROCESSING },
        {
          $set: {
            status: TransactionStatus.PROCESSED,
            processed_at: processedAt,
            expire_at: expiryAfter(processedAt, this.retentionDays),
            finished_lease_token: leaseToken,
            lease_owner: null,
            lease_token: null,
            lease_expires_at: null,
          },
        },
      );
      if (result.modifiedCount === ids.length) {
        for (const id of ids) finished.add(id);
        continue;
      }
      const ours = await this.collection
        .find(
          {
            transaction_id: { $in: ids },
            finished_lease_token: leaseToken,
            status: TransactionStatus.PROCESSED,
          },
          { projection: { transaction_id: 1 } },
        )
        .toArray();
      for (const doc of ours) finished.add(doc.transaction_id);
    }
    return finished;
  }

  /** After a failed attempt: due again at `retryAt` (the backoff), with the error kept. Fenced. */
  scheduleRetry(transactionId: string, leaseToken: string, error: string, retryAt: Date): Promise<boolean> {
    return this.finishLease(transactionId, leaseToken, { due_at: retryAt, last_error: error });
  }

  /** After the last allowed attempt failed: FAILED, out of the queue until requeued. Fenced. */
  markFailed(transactionId: string, leaseToken: string, error: string): Promise<boolean> {
    const failedAt = this.now();
    return this.finishLease(transactionId, leaseToken, {
      status: TransactionStatus.FAILED,
      last_error: error,
      failed_at: failedAt,
      expire_at: expiryAfter(failedAt, this.retentionDays),
    });
  }

  /** Gives a record back so another worker may take it at once (used on shutdown). Fenced. */
  releaseLease(transactionId: string, leaseToken: string): Promise<boolean> {
    return this.finishLease(transactionId, leaseToken, { due_at: this.now() });
  }

  /**
   * Puts a FAILED record back in line with a fresh attempt budget. Only FAILED records move, so
   * calling it again, or on a PROCESSING or PROCESSED record, changes nothing.
   */
  async requeueFailed(transactionId: string): Promise<boolean> {
    const result = await this.collection.updateOne(
      { transaction_id: transactionId, status: TransactionStatus.FAILED },
      {
        $set: {
          status: TransactionStatus.PROCESSING,
          due_at: this.now(),
          attempts: 0,
          failed_at: null,
          expire_at: null,
        },
      },
    );
    return result.modifiedCount === 1;
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
  ): Promise<boolean> {
    const result = await this.collection.updateOne(
      { transaction_id: transactionId, lease_token: leaseToken, status: TransactionStatus.PROCESSING },
      { $set: { ...changes, lease_owner: null, lease_token: null, lease_expires_at: null } },
    );
    return result.modifiedCount === 1;
  }
}
