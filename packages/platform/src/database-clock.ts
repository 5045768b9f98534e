import type { Db } from 'mongodb';

/** Where the clock's readings come from; injectable so tests can skew or pause them. */
export interface ClockSources {
  /** Monotonic milliseconds (performance.now): never jumps with NTP or a skewed wall clock. */
  monotonicMs: () => number;
  /** The server's current time, as it says (`hello` / `isMaster` `localTime`). */
  serverTime: () => Promise<Date>;
}

/**
 * The database server's clock, as seen from this process. Lease expiries and "is it due" checks
 * must agree across workers, so they come from one clock, the server's, not each host's.
 *
 * `$$NOW` in update pipelines would do it server-side on MongoDB 4.2+, but mongo-java-server 1.47
 * (our embedded stand-in) rejects pipeline updates; both return `localTime` from `hello`/`isMaster`.
 * So we sample `localTime`, credit half the round trip, and from then on read the monotonic clock:
 * now() = server time at the sample + monotonic time since. The sample is refreshed periodically
 * (each time from the reading with the smallest round trip, the most precise) so drift stays small.
 */
/** How often the apps re-anchor their DatabaseClock. */
export const CLOCK_SYNC_INTERVAL_MS = 60_000;

export class DatabaseClock {
  private anchor: { serverMs: number; monotonicMs: number; roundTripMs: number } | undefined;

  constructor(private readonly sources: ClockSources) {}

  static forDatabase(db: Db): DatabaseClock {
    return new DatabaseClock({ monotonicMs: () => performance.now(), serverTime: () => readServerTime(db) });
  }

  get synced(): boolean {
    return this.anchor !== undefined;
  }

  /** Error bound of now(): half the round trip of the sample in use (plus the 1 ms resolution). */
  get uncertaintyMs(): number {
    return this.anchor ? this.anchor.roundTripMs / 2 + 1 : Number.POSITIVE_INFINITY;
  }

  /** Takes `samples` readings and anchors on the most precise (smallest round trip) one. */
  async sync(samples = 3): Promise<void> {
    let best: typeof this.anchor;
    for (let i = 0; i < samples; i++) {
      const sentAt = this.sources.monotonicMs();
      const serverTime = await this.sources.serverTime();
      const roundTripMs = this.sources.monotonicMs() - sentAt;
      if (!best || roundTripMs < best.roundTripMs) {
        best = { serverMs: serverTime.getTime(), monotonicMs: sentAt + roundTripMs / 2, roundTripMs };
      }
    }
    this.anchor = best;
  }

  /**
   * Re-anchors every `intervalMs` (the monotonic clock drifts a little from the server's); a failed
   * sync keeps the previous anchor. Returns the function that stops it.
   */
  keepSynced(intervalMs: number, onError: (error: unknown) => void): () => void {
    const timer = setInterval(() => {
      this.sync().catch(onError);
    }, intervalMs);
    timer.unref();
    return () => clearInterval(timer);
  }

  /** The server's time now. Throws before the first sync(): a lease must never use a local guess. */
  now(): Date {
    if (!this.anchor) throw new Error('DatabaseClock.now() before sync()');
    return new Date(
      Math.round(this.anchor.serverMs + (this.sources.monotonicMs() - this.anchor.monotonicMs)),
    );
  }
}

/** `localTime` from `hello` (MongoDB 4.4+), or from `isMaster` where `hello` is unknown (mongo-java-server). */
export async function readServerTime(db: Db): Promise<Date> {
  const admin = db.admin();
  let reply: { localTime?: unknown };
  try {
    reply = await admin.command({ hello: 1 });
  } catch {
    reply = await admin.command({ isMaster: 1 });
  }
  if (!(reply.localTime instanceof Date)) throw new Error('the database server did not report its localTime');
  return reply.localTime;
}
