import { ObjectId } from 'mongodb';
import { z } from 'zod';
import type { ListPosition } from '@txhook/transactions';

/** What a cursor holds: the last listed record's created_at (ms) and _id. Opaque to clients. */
const cursorSchema = z.strictObject({
  t: z.number().int().nonnegative(),
  i: z.string().regex(/^[0-9a-f]{24}$/),
});

export function encodeCursor(position: ListPosition): string {
  const payload = { t: position.created_at.getTime(), i: position.id.toHexString() };
  return Buffer.from(JSON.stringify(payload)).toString('base64url');
}

/** The position a cursor names, or undefined when it is not one of ours. */
export function decodeCursor(cursor: string): ListPosition | undefined {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(cursor)) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  const parsed = cursorSchema.safeParse(json);
  if (!parsed.success) return undefined;
  return { created_at: new Date(parsed.data.t), id: new ObjectId(parsed.data.i) };
}
