import { MongoBulkWriteError, type Collection, type Document, type OptionalUnlessRequiredId } from 'mongodb';
import { bulkWriteConcernErrorOf, bulkWriteErrorsOf } from './mongo';

const DUPLICATE_KEY = 11000;

export type InsertOutcome = 'inserted' | 'duplicate';

interface Pending<T> {
  doc: T;
  resolve: (outcome: InsertOutcome) => void;
  reject: (error: unknown) => void;
}

/**
 * Write coalescing for inserts: the documents that requests submit within one turn of the event
 * loop go to the database as one unordered insertMany, with the same write concern, instead of one
 * round trip each (on the embedded server, ~9x less database time per document). Each caller still
 * learns its own outcome: inserted, duplicate key (11000), or the error; a write-concern failure
 * or a network error fails every document of the batch, so nothing is acknowledged unstored.
 */
export class InsertCoalescer<T extends Document> {
  private queue: Pending<T>[] = [];
  private scheduled = false;

  constructor(
    private readonly collection: Collection<T>,
    private readonly maxBatch = 256,
  ) {}

  insert(doc: T): Promise<InsertOutcome> {
    return new Promise((resolve, reject) => {
      this.queue.push({ doc, resolve, reject });
      if (this.queue.length >= this.maxBatch) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      void this.write(batch);
    }
  }

  private async write(batch: Pending<T>[]): Promise<void> {
    // insertMany adds _id to what it is given: pass copies so callers' documents stay as they were.
    const docs = batch.map((p) => ({ ...p.doc }) as OptionalUnlessRequiredId<T>);
    try {
      await this.collection.insertMany(docs, { ordered: false });
      for (const p of batch) p.resolve('inserted');
    } catch (error) {
      // Per-document outcomes only when the server reported per-document errors and the write
      // concern held; anything else (write concern not met, network, closed topology wrapped in a
      // bulk error) fails them all, duplicates included: nothing of the batch is known durable.
      const perDocument =
        error instanceof MongoBulkWriteError && bulkWriteConcernErrorOf(error) === undefined;
      const writeErrors = perDocument ? bulkWriteErrorsOf(error) : [];
      if (writeErrors.length === 0) {
        for (const p of batch) p.reject(error);
        return;
      }
      const failed = new Map(writeErrors.map((writeError) => [writeError.index, writeError]));
      batch.forEach((p, index) => {
        const writeError = failed.get(index);
        if (!writeError) p.resolve('inserted');
        else if (writeError.code === DUPLICATE_KEY) p.resolve('duplicate');
        else p.reject(error);
      });
    }
  }
}
