import type { Collection, Db, Filter, ObjectId, WithId } from 'mongodb';
import { percentile } from '@txhook/platform';
import { TRANSACTIONS_COLLECTION } from './transaction-store';
import { DEFAULT_RETENTION_DAYS } from './retention';
import { TransactionStatus, type TransactionDocument } from './transaction';

/** Where a page of the newest-first listing ended: the last record's sort key. */
export interface ListPosition {
  created_at: Date;
  id: ObjectId;
}

export interface ListQuery {
  status?: TransactionStatus | undefined;
  limit: number;
  /** Continue after this record (exclusive). */
  after?: ListPosition | undefined;
}

export interface ListPage {
  records: WithId<TransactionDocument>[];
  /** Position of the last record when more may follow, else null. */
  next: ListPosition | null;
}

export type StatusCounts = Record<TransactionStatus, number>;

/** Queue state cheap enough to read on every metrics scrape (index-backed counts). */
export interface QueueSnapshot {
  counts: StatusCounts;
  /** PROCESSING records a worker may claim now (not leased, not waiting for a retry). */
  due: number;
  /** How long the longest-waiting due record has been due; 0 when nothing is due. */
  oldest_due_age_seconds: number;
}

export interface TransactionStats extends QueueSnapshot {
  generated_at: string;
  /** processed_at - created_at over the most recent PROCESSED records. */
  processing_lag_seconds: {
    p50: number | null;
    p99: number | null;
    max: number | null;
    sample_size: number;
    window_seconds: number;
  };
  /** How long terminal records are kept; a redelivery after that is stored as a new transaction. */
  retention: { days: number; keep_forever: boolean };
  throughput: {
    /** Records that became PROCESSED in the last 60 s. */
    processed_last_60s: number;
    /** New records stored in the last 60 s (redeliveries of a stored id are not counted). */
    received_last_60s: number;
  };
}

export interface TransactionQueriesOptions {
  /** Server-side bound on each query (maxTimeMS), so a slow scrape cannot pile up work. */
  queryTimeoutMs?: number;
  /** The lag percentiles use at most this many recent records… */
  lagSampleSize?: number;
  /** …processed within this window. */
  lagWindowMs?: number;
  /** RETENTION_DAYS, shown in stats (0 = keep forever). */
  retentionDays?: number;
}

/** Statuses a record leaves (or may leave): few at any time, unlike PROCESSED. */
const OPEN_STATUSES = Object.values(TransactionStatus).filter(
  (status) => status !== TransactionStatus.PROCESSED,
);

/**
 * Read-only queries for operators (listing, stats, metrics), kept apart from the write path in
 * TransactionStore. Each one is index-backed and bounded in rows or time.
 */
export class TransactionQueries {
  readonly collection: Collection<TransactionDocument>;
  private readonly maxTimeMS: number;
  private readonly lagSampleSize: number;
  private readonly lagWindowMs: number;
  private readonly retentionDays: number;

  constructor(
    private readonly db: Db,
    options: TransactionQueriesOptions = {},
    private readonly now: () => Date = () => new Date(),
  ) {
    this.collection = db.collection<TransactionDocument>(TRANSACTIONS_COLLECTION);
    this.maxTimeMS = options.queryTimeoutMs ?? 2_000;
    this.lagSampleSize = options.lagSampleSize ?? 1_000;
    this.lagWindowMs = options.lagWindowMs ?? 5 * 60_000;
    this.retentionDays = options.retentionDays ?? DEFAULT_RETENTION_DAYS;
  }

  /** Newest first (created_at desc, _id desc as tie-breaker), keyset-paginated. */
  async listPage(query: ListQuery): Promise<ListPage> {
    const filter: Filter<TransactionDocument> = {};
    if (query.status) filter.status = query.status;
    if (query.after) {
      const { created_at: createdAt, id } = query.after;
      filter.$or = [{ created_at: { $lt: createdAt } }, { created_at: createdAt, _id: { $lt: id } }];
    }
    // One extra row tells whether another page exists without a second query.
    const rows = await this.collection
      .find(filter)
      .sort({ created_at: -1, _id: -1 })
      .limit(query.limit + 1)
      .maxTimeMS(this.maxTimeMS)
      .toArray();
    const records = rows.slice(0, query.limit);
    const last = records[records.length - 1];
    const next = rows.length > query.limit && last ? { created_at: last.created_at, id: last._id } : null;
    return { records, next };
  }

  async queueSnapshot(): Promise<QueueSnapshot> {
    const now = this.now();
    const dueFilter = { status: TransactionStatus.PROCESSING, due_at: { $lte: now } };
    const [counts, due, oldest] = await Promise.all([
      this.countByStatus(),
      this.count(dueFilter),
      this.collection.findOne(dueFilter, {
        sort: { due_at: 1 },
        projection: { due_at: 1 },
        maxTimeMS: this.maxTimeMS,
      }),
    ]);
    const oldestAgeMs = oldest ? Math.max(0, now.getTime() - oldest.due_at.getTime()) : 0;
    return { counts, due, oldest_due_age_seconds: oldestAgeMs / 1000 };
  }

  async stats(): Promise<TransactionStats> {
    const now = this.now();
    const minuteAgo = new Date(now.getTime() - 60_000);
    const [snapshot, lags, processed, received] = await Promise.all([
      this.queueSnapshot(),
      this.recentLagsSeconds(now),
      this.count({ status: TransactionStatus.PROCESSED, processed_at: { $gte: minuteAgo } }),
      this.count({ created_at: { $gte: minuteAgo } }),
    ]);
    return {
      generated_at: now.toISOString(),
      ...snapshot,
      processing_lag_seconds: {
        p50: percentile(lags, 50),
        p99: percentile(lags, 99),
        max: lags.length ? Math.max(...lags) : null,
        sample_size: lags.length,
        window_seconds: this.lagWindowMs / 1000,
      },
      throughput: { processed_last_60s: processed, received_last_60s: received },
      retention: { days: this.retentionDays, keep_forever: this.retentionDays === 0 },
    };
  }

  /**
   * The open statuses are index range counts (status_due_at) and stay small; PROCESSED is all of
   * history, so it is the stored total minus them, instead of a count that walked every finished
   * record (12.6 s on H2 at 500,000, on every stats read and metrics scrape). An empty-filter count
   * is the collection's size on both servers, no walk (MongoDB reads it from the collection's
   * metadata, which an unclean shutdown can leave off until `validate`). The counts are taken side
   * by side, not as one snapshot, as before: a record finishing in between can move one between
   * buckets.
   */
  private async countByStatus(): Promise<StatusCounts> {
    const [total, ...open] = await Promise.all([
      this.count({}),
      ...OPEN_STATUSES.map((status) => this.count({ status })),
    ]);
    const counts = Object.fromEntries(OPEN_STATUSES.map((status, i) => [status, open[i] ?? 0]));
    const openTotal = open.reduce<number>((sum, n) => sum + (n ?? 0), 0);
    return {
      ...counts,
      [TransactionStatus.PROCESSED]: Math.max(0, (total ?? 0) - openTotal),
    } as StatusCounts;
  }

  private async recentLagsSeconds(now: Date): Promise<number[]> {
    const rows = await this.collection
      .find(
        {
          status: TransactionStatus.PROCESSED,
          processed_at: { $gte: new Date(now.getTime() - this.lagWindowMs) },
        },
        { projection: { created_at: 1, processed_at: 1 } },
      )
      .sort({ processed_at: -1 })
      .limit(this.lagSampleSize)
      .maxTimeMS(this.maxTimeMS)
      .toArray();
    return rows.flatMap((row) =>
      row.processed_at ? [(row.processed_at.getTime() - row.created_at.getTime()) / 1000] : [],
    );
  }

  /**
   * The `count` command rather than countDocuments: countDocuments is an aggregation ($match, then
   * $group), and the embedded server's aggregation reads every stored record, never an index, so
   * each count cost a full scan (seconds at 500,000 records, with the dashboard asking every 2 s).
   * `count` goes through the query planner on both servers: on MongoDB it is the same index count
   * as countDocuments' $match. countDocuments exists for sharded
   * clusters, where `count` can include orphaned documents; txhook's collection is not sharded.
   */
  private async count(filter: Filter<TransactionDocument>): Promise<number> {
    const reply = await this.db.command({
      count: TRANSACTIONS_COLLECTION,
      query: filter,
      maxTimeMS: this.maxTimeMS,
    });
    return Number(reply.n);
  }
}
