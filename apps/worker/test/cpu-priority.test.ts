/**
 * The worker process yields the CPU to the API where they share cores: a running worker process
 * has the niceness WORKER_NICENESS asks for (10 by default), read from the kernel for its pid.
 */
import { getPriority } from 'node:os';
import { e2eContext, e2eEnv, startWorker } from '@txhook/test-kit';

describe('worker process CPU priority', () => {
  const env = e2eEnv('cpu_priority');
  const ctx = e2eContext(() => env);
  // A test run started under `nice` passes its niceness on; the worker only ever lowers its priority.
  const own = getPriority();

  it('runs at niceness 10 by default', async () => {
    const worker = await startWorker(env);
    ctx.processes.push(worker);
    expect(getPriority(worker.child.pid)).toBe(Math.max(10, own));
  });

  it('runs at the niceness WORKER_NICENESS gives', async () => {
    const worker = await startWorker({ ...env, WORKER_NICENESS: '3' });
    ctx.processes.push(worker);
    expect(getPriority(worker.child.pid)).toBe(Math.max(3, own));
  });
});
