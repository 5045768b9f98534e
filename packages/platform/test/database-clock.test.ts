import { DatabaseClock, readServerTime } from '../src/database-clock';
import { openTestDatabase, type TestDatabase } from '@txhook/test-kit';

let database: TestDatabase;
beforeAll(async () => {
  database = await openTestDatabase('clock');
});
afterAll(async () => {
  await database.drop();
});

describe('DatabaseClock', () => {
  it('reads the real server clock (hello, or isMaster on the embedded server)', async () => {
    const before = Date.now();
    const serverTime = await readServerTime(database.db);
    // Same host in tests: the server's clock is ours, give or take the round trip.
    expect(Math.abs(serverTime.getTime() - before)).toBeLessThan(2_000);
  });

  it('follows the server time, not the local wall clock, between syncs', async () => {
    let monotonic = 1_000;
    const server = Date.parse('2030-01-01T00:00:00Z');
    // The server answers 40 ms after the request left; the local wall clock is never read.
    const clock = new DatabaseClock({
      monotonicMs: () => monotonic,
      serverTime: () => {
        monotonic += 40;
        return Promise.resolve(new Date(server));
      },
    });
    expect(() => clock.now()).toThrow(/before sync/);
    await clock.sync(1);
    expect(clock.now().getTime()).toBe(server + 20); // half the round trip credited
    expect(clock.uncertaintyMs).toBe(21);
    monotonic += 5_000;
    expect(clock.now().getTime()).toBe(server + 5_020);
  });

  it('anchors on the most precise of several samples', async () => {
    let monotonic = 0;
    const roundTrips = [300, 10, 200];
    let calls = 0;
    const clock = new DatabaseClock({
      monotonicMs: () => monotonic,
      serverTime: () => {
        const roundTrip = roundTrips[calls++]!;
        monotonic += roundTrip / 2;
        const at = new Date(1_000_000 + monotonic); // the server's clock = monotonic + 1e6
        monotonic += roundTrip / 2;
        return Promise.resolve(at);
      },
    });
    await clock.sync(3);
    expect(clock.uncertaintyMs).toBe(6);
    expect(clock.now().getTime()).toBe(1_000_000 + monotonic);
  });

  it('synced against the real server, agrees with it within the round trip', async () => {
    const clock = DatabaseClock.forDatabase(database.db);
    await clock.sync();
    const sentAt = performance.now();
    const serverTime = await readServerTime(database.db);
    const roundTrip = performance.now() - sentAt;
    expect(Math.abs(clock.now().getTime() - serverTime.getTime())).toBeLessThanOrEqual(
      roundTrip + clock.uncertaintyMs + 2,
    );
  });
});
