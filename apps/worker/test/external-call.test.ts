import {
  CallAbortedError,
  ExternalCallError,
  seededRandom,
  simulatedExternalCall,
} from '../src/external-call';
import type { ClaimedTransaction } from '@txhook/transactions';

const record = { transaction_id: 'tx-1' } as ClaimedTransaction;

describe('simulatedExternalCall', () => {
  it('waits its delay and succeeds when no failures are injected', async () => {
    const call = simulatedExternalCall({ delayMs: 50, failureRate: 0 });
    const started = Date.now();
    await expect(call(record, new AbortController().signal)).resolves.toBeUndefined();
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
  });

  it('fails about the configured share of calls, reproducibly for a seed', async () => {
    const outcomes = async (seed: number) => {
      const call = simulatedExternalCall({ delayMs: 0, failureRate: 0.3, random: seededRandom(seed) });
      const results: boolean[] = [];
      for (let i = 0; i < 2_000; i++) {
        results.push(
          await call(record, new AbortController().signal).then(
            () => true,
            (e: unknown) => !(e instanceof ExternalCallError),
          ),
        );
      }
      return results;
    };
    const first = await outcomes(42);
    const failures = first.filter((ok) => !ok).length;
    expect(failures).toBeGreaterThan(500);
    expect(failures).toBeLessThan(700);
    expect(await outcomes(42)).toEqual(first);
    expect(await outcomes(7)).not.toEqual(first);
  });

  it('rejects with CallAbortedError as soon as it is aborted', async () => {
    const controller = new AbortController();
    const pending = simulatedExternalCall({ delayMs: 60_000, failureRate: 0 })(record, controller.signal);
    controller.abort();
    await expect(pending).rejects.toBeInstanceOf(CallAbortedError);
  });
});
