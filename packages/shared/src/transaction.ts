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
  /** How many times a worker has claimed it (since it was last requeued). */
  attempts: number;
  /** Why the last attempt failed; null until one does. */
  last_error: string | null;
  failed_at: Date | null;
  lease_owner: string | null;
  /** Fencing token: only the holder of the current token may finish the record. */
  lease_token: string | null;
  lease_expires_at: Date | null;
  /** The lease that finished it (set with PROCESSED), to tell batched finishes apart. */
  finished_lease_token?: string;
  /** When a terminal record is deleted (RETENTION_DAYS after it became terminal); unset otherwise. */
  expire_at?: Date | null;
}

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
    attempts: z
      .int()
      .min(0)
      .meta({ description: 'How many times a worker claimed it (since last requeued)' }),
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
    attempts: doc.attempts,
    last_error: doc.last_error,
    next_attempt_at: isWaitingForRetry(doc) ? doc.due_at.toISOString() : null,
    created_at: doc.created_at.toISOString(),
    processed_at: doc.processed_at ? doc.processed_at.toISOString() : null,
    failed_at: doc.failed_at ? doc.failed_at.toISOString() : null,
  };
}

function isWaitingForRetry(doc: TransactionDocument): boolean {
  return doc.status === TransactionStatus.PROCESSING && doc.lease_token === null && doc.last_error !== null;
}

/** True when a redelivery carries the same transaction as the stored one (amount compared by value). */
export function isSamePayload(doc: TransactionDocument, webhook: TransactionWebhook): boolean {
  return (
    doc.source_account === webhook.source_account &&
    doc.destination_account === webhook.destination_account &&
    doc.currency === webhook.currency &&
    doc.amount.toString() === webhook.amount
  );
}

/** The record a new webhook becomes: PROCESSING, due at once, no lease, no attempt yet. */
export function newTransactionDocument(webhook: TransactionWebhook, createdAt: Date): TransactionDocument {
  return {
    transaction_id: webhook.transaction_id,
    source_account: webhook.source_account,
    destination_account: webhook.destination_account,
    amount: toDecimal128(webhook.amount),
    currency: webhook.currency,
    status: TransactionStatus.PROCESSING,
    created_at: createdAt,
    processed_at: null,
    due_at: createdAt,
    attempts: 0,
    last_error: null,
    failed_at: null,
    lease_owner: null,
    lease_token: null,
    lease_expires_at: null,
  };
}
