import type { Decimal128 } from 'mongodb';
import type { TransactionWebhook } from './schemas';

export const TransactionStatus = {
  PROCESSING: 'PROCESSING',
  PROCESSED: 'PROCESSED',
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
  /** How many times a worker has claimed it. */
  attempts: number;
  lease_owner: string | null;
  /** Fencing token: only the holder of the current token may finish the record. */
  lease_token: string | null;
  lease_expires_at: Date | null;
}

/** What the API shows of a transaction. */
export interface TransactionView {
  transaction_id: string;
  source_account: string;
  destination_account: string;
  amount: string;
  currency: string;
  status: TransactionStatus;
  attempts: number;
  created_at: string;
  processed_at: string | null;
}

export function toTransactionView(doc: TransactionDocument): TransactionView {
  return {
    transaction_id: doc.transaction_id,
    source_account: doc.source_account,
    destination_account: doc.destination_account,
    amount: doc.amount.toString(),
    currency: doc.currency,
    status: doc.status,
    attempts: doc.attempts,
    created_at: doc.created_at.toISOString(),
    processed_at: doc.processed_at ? doc.processed_at.toISOString() : null,
  };
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
