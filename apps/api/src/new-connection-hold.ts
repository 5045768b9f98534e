import type { Server, Socket } from 'node:net';

export interface NewConnectionHoldOptions {
  /** A held connection is read once no other has arrived for this long. 0 = no hold. */
  quietMs: number;
  /** ... and at the latest this long after the first connection held, whatever still arrives. */
  maxHoldMs: number;
}

/**
 * Node.js 20 (libuv ≥ 1.45) accepts one new connection per turn of the event loop, and each turn
 * first serves every request ready on the connections it already holds. When many connections open
 * at once (a sender's pool starting, clients reconnecting after a load balancer's restart), the k-th
 * waits k turns, each longer than the last, because the connections accepted before it are already
 * posting. 64 connections opened while a server spending 2 ms per request was busy for 300 ms got
 * their first answers up to 1.7 s after it was free (test/new-connection-hold.test.ts; against the
 * API itself, bench/analysis.md, "A burst of new connections").
 *
 * So a new connection is not read until the burst is over. It is held, accepted but paused (nothing
 * read), until no other connection has arrived for `quietMs`, or `maxHoldMs` after the first one
 * held. While connections are held the turns are short (one accept each, nothing to serve), so a
 * whole burst is accepted in milliseconds and then served side by side. A lone connection waits
 * `quietMs` for its first read; connections already open are never held.
 */
export function holdNewConnectionsThroughBursts(
  server: Server,
  { quietMs, maxHoldMs }: NewConnectionHoldOptions,
): void {
  if (quietMs <= 0) return;
  // net.Server reads this property at every accept (it is what the createServer option of the same
  // name sets); http.createServer has no way to pass that option, hence the assignment.
  (server as Server & { pauseOnConnect: boolean }).pauseOnConnect = true;
  let held: Socket[] = [];
  let firstHeldAt = 0;
  let release: NodeJS.Timeout | undefined;
  const readHeld = (): void => {
    release = undefined;
    const sockets = held;
    held = [];
    for (const socket of sockets) if (!socket.destroyed) socket.resume();
  };
  server.on('connection', (socket: Socket) => {
    held.push(socket);
    if (!release) {
      firstHeldAt = performance.now();
      release = setTimeout(readHeld, quietMs).unref();
    } else if (performance.now() - firstHeldAt + quietMs <= maxHoldMs) {
      release.refresh();
    }
  });
}
