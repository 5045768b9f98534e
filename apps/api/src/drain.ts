import type { IncomingMessage, Server, ServerResponse } from 'node:http';

/**
 * The API's side of a clean shutdown. Once draining: GET /readyz fails (the load balancer stops
 * sending here), and every answer, including those of requests already in flight, carries
 * `Connection: close`, so no keep-alive connection is reused for new work and each one closes as
 * soon as its last answer is written. Without this, a connection that was busy at SIGTERM keeps
 * taking new webhooks until the grace period ends and is then reset mid-request.
 *
 * Idle connections are left alone here: closing one races with a client sending on it. They are
 * closed when the listener closes (closeGracefully), after SHUTDOWN_DRAIN_DELAY_MS.
 */
export class Drain {
  private draining = false;
  /** Answers not written yet: told to close their connection when draining starts. */
  private readonly pending = new Set<ServerResponse>();

  get isDraining(): boolean {
    return this.draining;
  }

  /** Follows the server's requests; call right after it is created. */
  attach(server: Server): void {
    // Before the app's own listener, which may answer synchronously.
    server.prependListener('request', (_req: IncomingMessage, res: ServerResponse) => {
      if (this.draining) {
        closeAfter(res);
        return;
      }
      this.pending.add(res);
      res.once('close', () => this.pending.delete(res));
    });
  }

  /** Starts draining: /readyz fails and every answer from now on closes its connection. */
  start(): void {
    if (this.draining) return;
    this.draining = true;
    for (const res of this.pending) closeAfter(res);
    this.pending.clear();
  }
}

function closeAfter(res: ServerResponse): void {
  // Node ends the socket after an answer whose Connection header says close.
  if (!res.headersSent) res.setHeader('Connection', 'close');
}
