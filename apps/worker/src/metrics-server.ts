import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/** Where Prometheus finds a worker unless told otherwise (the OpenTelemetry exporter convention). */
export const DEFAULT_METRICS_PORT = 9464;

export interface MetricsListening {
  server: Server;
  port: number;
  /** True when the default port was taken and a free one was used instead. */
  fellBack: boolean;
}

/**
 * Serves the worker's metrics on the configured port. Unset (`configured` undefined), the default
 * port is tried first and, when another worker on the host already holds it, any free port: N
 * workers on one host start side by side, each logging its port. A port set explicitly is a
 * promise made to the scraper, so a taken one is an error that names it.
 */
export async function listenForMetrics(
  registry: Registry,
  configured: number | undefined,
  host = '0.0.0.0',
): Promise<MetricsListening> {
  try {
    const listening = await startMetricsServer(registry, configured ?? DEFAULT_METRICS_PORT, host);
    return { ...listening, fellBack: false };
  } catch (error) {
    if (!isAddressInUse(error)) throw error;
    if (configured !== undefined) {
      throw new Error(
        `WORKER_METRICS_PORT ${configured} is in use on ${host}; free it, pick another, or unset it (default ${DEFAULT_METRICS_PORT}, else any free port)`,
      );
    }
    return { ...(await startMetricsServer(registry, 0, host)), fellBack: true };
  }
}

function isAddressInUse(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'EADDRINUSE';
}

/**
 * The worker's only HTTP surface: GET /metrics for Prometheus (and GET /livez). Resolves with the
 * bound port once listening (port 0 picks a free one).
 */
export function startMetricsServer(
  registry: Registry,
  port: number,
  host = '0.0.0.0',
): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0];
    if (req.method === 'GET' && path === '/metrics') {
      registry.metrics().then(
        (body) => {
          res.writeHead(200, { 'Content-Type': registry.contentType, 'Cache-Control': 'no-store' });
          res.end(body);
        },
        (error: unknown) => {
          res.writeHead(500, { 'Content-Type': 'text/plain' });
          res.end(`metrics failed: ${String(error)}\n`);
        },
      );
      return;
    }
    if (req.method === 'GET' && path === '/livez') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{"status":"live"}');
      return;
    }
    res.writeHead(404, { 'Content-Type': 'application/json' });
    res.end('{"error":{"code":"not_found","message":"No such route"}}');
  });
  // Scrapes are short; do not let idle keep-alive sockets hold shutdown up.
  server.keepAliveTimeout = 5_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve({ server, port: (server.address() as AddressInfo).port });
    });
  });
}
