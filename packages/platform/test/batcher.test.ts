/** The one batcher behind the insert coalescer and the worker's batched completions. */
import { Batcher, fulfilled, rejected } from '../src/batcher';

/** A run that records each batch it was given and answers item * 10, failing odd items when told. */
function recordingRun(failOdd = false) {
  const batches: number[][] = [];
  const run = (items: readonly number[]) => {
    batches.push([...items]);
    return Promise.resolve(
      items.map((item) =>
        failOdd && item % 2 === 1 ? rejected(new Error(`odd ${item}`)) : fulfilled(item * 10),
      ),
    );
  };
  return { run, batches };
}

describe('Batcher', () => {
  it('gathers what is added in one turn of the event loop into one run (maxWaitMs 0)', async () => {
    const { run, batches } = recordingRun();
    const batcher = new Batcher(run, { maxBatch: 100, maxWaitMs: 0 });
    const results = await Promise.all([1, 2, 3].map((item) => batcher.add(item)));
    expect(results).toEqual([10, 20, 30]);
    expect(batches).toEqual([[1, 2, 3]]);
  });

  it('waits up to maxWaitMs for company, then runs what it has', async () => {
    const { run, batches } = recordingRun();
    const batcher = new Batcher(run, { maxBatch: 100, maxWaitMs: 50 });
    const first = batcher.add(1);
    await new Promise((resolve) => setTimeout(resolve, 10));
    const second = batcher.add(2);
    expect(batches).toEqual([]);
    expect(await Promise.all([first, second])).toEqual([10, 20]);
    expect(batches).toEqual([[1, 2]]);
  });

  it('runs at once when maxBatch items wait, and never more than maxBatch per run', async () => {
    const { run, batches } = recordingRun();
    const batcher = new Batcher(run, { maxBatch: 2, maxWaitMs: 60_000 });
    const results = await Promise.all([1, 2, 3, 4].map((item) => batcher.add(item)));
    expect(results).toEqual([10, 20, 30, 40]);
    expect(batches).toEqual([
      [1, 2],
      [3, 4],
    ]);
  });

  it('gives each caller its own outcome, and a failed run fails every item of its batch', async () => {
    const partly = new Batcher(recordingRun(true).run, { maxBatch: 10, maxWaitMs: 0 });
    const outcomes = await Promise.allSettled([1, 2].map((item) => partly.add(item)));
    expect(outcomes[0]).toMatchObject({ status: 'rejected', reason: new Error('odd 1') });
    expect(outcomes[1]).toEqual({ status: 'fulfilled', value: 20 });

    const down = new Error('database down');
    const failing = new Batcher<number, number>(() => Promise.reject(down), { maxBatch: 10, maxWaitMs: 0 });
    const all = await Promise.allSettled([1, 2].map((item) => failing.add(item)));
    expect(all).toEqual([
      { status: 'rejected', reason: down },
      { status: 'rejected', reason: down },
    ]);
  });
});
