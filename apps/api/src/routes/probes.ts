import { Router } from 'express';
import type { MongoClient } from 'mongodb';
import { pingDatabase, type TransactionRepository } from '@txhook/shared';

interface CheckResult {
  ok: boolean;
  error?: string;
  missing?: string[];
}

/**
 * GET /livez: the process answers (no database involved, so a database outage never restarts it).
 * GET /readyz: 200 when the database answers and every required index exists, else 503 naming
 * the failed check, so a load balancer stops sending traffic this instance cannot store; 503
 * `draining` from SIGTERM on, so it stops sending before the listener closes.
 */
export function probesRouter(deps: {
  client: MongoClient;
  repository: TransactionRepository;
  timeoutMs: number;
  /** True once the process is shutting down: not ready, whatever the database says. */
  isDraining?: () => boolean;
}): Router {
  const router = Router();
  router.get('/livez', (_req, res) => {
    res.status(200).set('Cache-Control', 'no-store').json({ status: 'live' });
  });
  router.get('/readyz', async (_req, res) => {
    if (deps.isDraining?.()) {
      res.status(503).set('Cache-Control', 'no-store').json({ status: 'draining' });
      return;
    }
    const database = await check(() => pingDatabase(deps.client, deps.timeoutMs));
    const indexes: CheckResult = database.ok
      ? await check(async () => {
          const missing = await withTimeout(deps.repository.missingIndexes(), deps.timeoutMs);
          if (missing.length > 0) return { ok: false, error: 'required indexes are missing', missing };
        })
      : { ok: false, error: 'not checked: database unreachable' };
    const ready = database.ok && indexes.ok;
    res
      .status(ready ? 200 : 503)
      .set('Cache-Control', 'no-store')
      .json({ status: ready ? 'ready' : 'not_ready', checks: { database, indexes } });
  });
  return router;
}

async function check(run: () => Promise<CheckResult | void>): Promise<CheckResult> {
  try {
    return (await run()) ?? { ok: true };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
