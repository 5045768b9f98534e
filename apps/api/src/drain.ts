import type { IncomingMessage, Server, ServerResponse } from 'node:http';

/**
 * The API's side of a clean shutdown. Once draining: GET /readyz fails (the load balancer stops
 * sending here), and every answer, including those of requests already in flight, carries
 * `Connection: close`, so no keep-alive connection is reused for new work and each one closes as
 * soon as its last answer is written. Without this, a connection that was busy at SIGTERM keeps
 * taking new webhooks until the grace period ends and is then reset mid-request.
 */
export class Drain {
  private draining = false;
  /** Answers not written yet: told to close their connection when draining starts. */
  private readonly pending = new Set<ServerResponse>();
  private server: Server | undefined;

  get isDraining(): boolean {
    return this.draining;
  }

  /** Follows the server's requests; call right after it is created. */
  attach(server: Server): void {
    this.server = server;
    // Before the app's own listener, which may answer synchronously.
    server.prependListener('request', (_req: IncomingMessage, res: ServerResponse) => {
      if (this.draining) {
        closeAfter(res);
        res.once('close', () => server.closeIdleConnections());
        return;
      }
      this.pending.add(res);
      res.once('close', () => {
        this.pending.delete(res);
        // An answer whose headers went out before draining began still left its socket open.
        if (this.draining) server.closeIdleConnections();
      });
    });
  }

  /** Starts draining: /readyz fails and every answer from now on closes its connection. */
  start(): void {
    if (this.draining) return;
    this.draining = true;
    for (const res of this.pending) closeAfter(res);
    this.pending.clear();
    this.server?.closeIdleConnections();
  }
}

function closeAfter(res: ServerResponse): void {
  // Node ends the socket after an answer whose Connection header says close.
  if (!res.headersSent) res.setHeader('Connection', 'close');
}
