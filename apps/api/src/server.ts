import type { Server } from 'node:http';
import type { Express } from 'express';
import { holdNewConnectionsThroughBursts, type NewConnectionHoldOptions } from './new-connection-hold';

/**
 * New connections are held through bursts (see new-connection-hold.ts); `quietMs: 0` turns it off.
 * Measured with 256 connections opened at once (bench/analysis.md): the API accepted them in
 * 5-23 ms, in one to three parts where the client paused 2 ms or more. With a 25 ms limit one such
 * burst still waited up to 0.9 s (likely released in part while the rest waited to be accepted);
 * 100 ms leaves room for several times such a burst and still adds at most a tenth of a second
 * where new connections never stop arriving.
 */
export const DEFAULT_NEW_CONNECTION_HOLD: NewConnectionHoldOptions = { quietMs: 2, maxHoldMs: 100 };

export interface ListenOptions {
  /** Default: every interface. */
  host?: string;
  newConnectionHold?: NewConnectionHoldOptions;
}

/** Starts listening and resolves once the port is bound. */
export function listen(
  app: Express,
  port: number,
  { host = '0.0.0.0', newConnectionHold = DEFAULT_NEW_CONNECTION_HOLD }: ListenOptions = {},
): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host, (error?: Error) => {
      if (error) reject(error);
      else resolve(server);
    });
    holdNewConnectionsThroughBursts(server, newConnectionHold);
    // Keep-alive a little longer than typical load balancers so they close first.
    server.keepAliveTimeout = 65_000;
    server.headersTimeout = 66_000;
    server.requestTimeout = 30_000;
  });
}

/** Stops accepting, lets in-flight requests finish, then drops idle keep-alive sockets. */
export async function closeGracefully(server: Server, timeoutMs: number): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const forced = new Promise<void>((resolve) =>
    setTimeout(() => {
      server.closeAllConnections();
      resolve();
    }, timeoutMs).unref(),
  );
  await Promise.race([closed, forced]);
}
