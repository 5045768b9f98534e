import type { Decimal128 } from 'mongodb';
import { toDecimal128 } from './money';
import { z } from 'zod';
import { TRANSACTION_ID_PATTERN, type TransactionWebhook } from './schemas';

export const TransactionStatus = {
  /** Accepted and waiting for, or in, its external call (including retries after failures). */
  PROCESSING: 'PROCESSING',
  /** The external call succeeded; final. */
  PROCESSED: 'PROCESSED',
  /** Every attempt failed; stays so until requeued with POST /v1/transactions/:id/retry. */
  FAILED: 'FAILED',
} as const;
export type TransactionStatus = (typeof TransactionStatus)[keyof typeof TransactionStatus];

/** A transaction as stored in MongoDB (collection `transactions`). */
export interface TransactionDocument {
  transaction_id: string;
  source_account: string;
  destination_account: string;
  /** Exact decimal, never a binary float. */
  amount: Decimal128;
  currency: string;
  status: TransactionStatus;
  created_at: Date;
  processed_at: Date | null;
  /** When a worker may claim it next: creation time, then the expiry of the current lease. */
  due_at: Date;
  /**
   * External calls started for it, counted (fenced by the lease) just before each call starts: a
   * worker that dies between that write and the call over-counts by one, never under-counts.
   */
  calls: number;
  /** Calls that ended in failure (error or deadline) since it was last requeued: MAX_ATTEMPTS bounds it. */
  attempts: number;
  /** Times a worker leased it. */
  claims: number;
  /**
   * Leases since the last requeue that ended without an outcome (worker crashed, stalled past its
   * lease, lost a claim reply). Not shown: past MAX_CLAIMS the record is poison and FAILED.
   * Shutdown releases are an outcome ("given back") and do not count.
   */
  unsettled_claims: number;
  /** Why the last attempt failed; null until one does. */
  last_error: string | null;
  failed_at: Date | null;
  lease_owner: string | null;
  /** Fencing token: only the holder of the current token may finish the record. */
  lease_token: string | null;
  lease_expires_at: Date | null;
  /** The lease that finished it (set with PROCESSED), to tell batched finishes apart. */
  finished_lease_token?: string;
  /** Which configured sender delivered it (WEBHOOK_SOURCES); `default` for the unnamed one. */
  source?: string;
  /** Audit of the last operator requeue: the operator key's name (or `anonymous` when open). */
  requeued_by?: string | null;
  requeued_at?: Date | null;
  /** When a terminal record is deleted (RETENTION_DAYS after it became terminal); unset otherwise. */
  expire_at?: Date | null;
}

/** The source of webhooks posted to the path without a source name. */
export const DEFAULT_SOURCE = 'default';

/** What the API shows of a transaction; also its OpenAPI description. */
export const transactionViewSchema = z
  .object({
    transaction_id: z.string().regex(TRANSACTION_ID_PATTERN),
    source_account: z.string(),
    destination_account: z.string(),
    amount: z
      .string()
      .regex(/^[0-9]+(\.[0-9]+)?$/)
      .meta({ description: 'Exact decimal with the currency minor units' }),
    currency: z.string().regex(/^[A-Z]{3}$/),
    status: z.enum([TransactionStatus.PROCESSING, TransactionStatus.PROCESSED, TransactionStatus.FAILED]),
    calls: z
      .int()
      .min(0)
      .meta({ description: 'External calls started for it, ever (a worker crash can over-count by one)' }),
    attempts: z
      .int()
      .min(0)
      .meta({ description: 'Calls that ended in failure since last requeued; MAX_ATTEMPTS bounds it' }),
    claims: z.int().min(0).meta({ description: 'Times a worker leased it, ever' }),
    last_error: z
      .string()
      .nullable()
      .meta({ description: 'Why the last attempt failed; null until one does' }),
    next_attempt_at: z.iso
      .datetime()
      .nullable()
      .meta({ description: 'When a retry after a failed attempt is due; otherwise null' }),
    created_at: z.iso.datetime(),
    processed_at: z.iso.datetime().nullable(),
    failed_at: z.iso.datetime().nullable(),
    source: z.string().meta({ description: 'The sender it came from (`default` unless WEBHOOK_SOURCES)' }),
    requeued_by: z
      .string()
      .nullable()
      .meta({ description: 'Operator key name of the last requeue; null if never requeued' }),
    requeued_at: z.iso.datetime().nullable(),
  })
  .strict();

export type TransactionView = z.infer<typeof transactionViewSchema>;

export function toTransactionView(doc: TransactionDocument): TransactionView {
  return {
    transaction_id: doc.transaction_id,
    source_account: doc.source_account,
    destination_account: doc.destination_account,
    amount: doc.amount.toString(),
    currency: doc.currency,
    status: doc.status,
    // Records stored before the counters existed lack calls/claims.
    calls: doc.calls ?? 0,
    attempts: doc.attempts,
    claims: doc.claims ?? 0,
    last_error: doc.last_error,
    next_attempt_at: isWaitingForRetry(doc) ? doc.due_at.toISOString() : null,
    created_at: doc.created_at.toISOString(),
    processed_at: doc.processed_at ? doc.processed_at.toISOString() : null,
    failed_at: doc.failed_at ? doc.failed_at.toISOString() : null,
    source: doc.source ?? DEFAULT_SOURCE,
    requeued_by: doc.requeued_by ?? null,
    requeued_at: doc.requeued_at ? doc.requeued_at.toISOString() : null,
  };
}

function isWaitingForRetry(doc: TransactionDocument): boolean {
  return doc.status === TransactionStatus.PROCESSING && doc.lease_token === null && doc.last_error !== null;
}

/**
 * True when a redelivery carries the same transaction as the stored one (amount compared by
 * value) from the same source: the same id from another sender is a conflict, never a duplicate.
 */
export function isSamePayload(
  doc: TransactionDocument,
  webhook: TransactionWebhook,
  source: string = DEFAULT_SOURCE,
): boolean {
  return (
    (doc.source ?? DEFAULT_SOURCE) === source &&
    doc.source_account === webhook.source_account &&
    doc.destination_account === webhook.destination_account &&
    doc.currency === webhook.currency &&
    doc.amount.toString() === webhook.amount
  );
}

/** The record a new webhook becomes: PROCESSING, due at once, no lease, no attempt yet. */
export function newTransactionDocument(
  webhook: TransactionWebhook,
  createdAt: Date,
  source: string = DEFAULT_SOURCE,
): TransactionDocument {
  return {
    transaction_id: webhook.transaction_id,
    source,
    source_account: webhook.source_account,
    destination_account: webhook.destination_account,
    amount: toDecimal128(webhook.amount),
    currency: webhook.currency,
    status: TransactionStatus.PROCESSING,
    created_at: createdAt,
    processed_at: null,
    due_at: createdAt,
    calls: 0,
    attempts: 0,
    claims: 0,
    unsettled_claims: 0,
    last_error: null,
    failed_at: null,
    lease_owner: null,
    lease_token: null,
    lease_expires_at: null,
  };
}
