/**
 * A server for new-connection-hold.test.ts, in a process of its own so that its event loop is not
 * the test's: an Express app that spends BUSY_MS of CPU on every request (the API spends a fraction
 * of a millisecond; 2 ms makes the effect large and certain), listening through the API's `listen`.
 * HOLD_QUIET_MS / HOLD_MAX_MS set the hold's options (unset: the API's defaults; HOLD_QUIET_MS=0
 * turns it off, as Node.js is by itself).
 */
import express from 'express';
import type { AddressInfo } from 'node:net';
import { DEFAULT_NEW_CONNECTION_HOLD, listen } from '../src/server';

const busyMs = Number(process.env.BUSY_MS ?? 2);
const app = express();
app.post('/', (req, res) => {
  req.resume();
  req.on('end', () => {
    // A request may ask for longer (X-Busy-Ms): a moment in which the server accepts nothing.
    const until = performance.now() + Number(req.headers['x-busy-ms'] ?? busyMs);
    while (performance.now() < until);
    res.status(202).json({ status: 'PROCESSING' });
  });
});

const hold = {
  quietMs: Number(process.env.HOLD_QUIET_MS ?? DEFAULT_NEW_CONNECTION_HOLD.quietMs),
  maxHoldMs: Number(process.env.HOLD_MAX_MS ?? DEFAULT_NEW_CONNECTION_HOLD.maxHoldMs),
};
void listen(app, 0, { host: '127.0.0.1', newConnectionHold: hold }).then((server) => {
  console.log(JSON.stringify({ message: 'listening', port: (server.address() as AddressInfo).port }));
  process.on('SIGTERM', () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  });
});
