// The restore/backup semaphore: never more than n tasks at once, FIFO, every task run once, also with a
// queue of tens of thousands (a restore queues every file of a tree at once).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { limiter } from '../../src/common/limit.ts';

test('limiter runs every task once, at most n at a time, in FIFO order', async () => {
  for (const [n, tasks] of [
    [1, 50],
    [3, 20_000],
    [64, 1_000]
  ] as const) {
    const run = limiter(n);
    let active = 0,
      peak = 0;
    const started: number[] = [];
    const results = await Promise.all(
      Array.from({ length: tasks }, (_, i) =>
        run(async () => {
          started.push(i);
          peak = Math.max(peak, ++active);
          await new Promise((r) => setImmediate(r));
          active--;
          return i * 2;
        })
      )
    );
    assert.equal(peak, Math.min(n, tasks), `peak concurrency with n=${n}`);
    assert.deepEqual(
      started,
      Array.from({ length: tasks }, (_, i) => i),
      'started in submission order'
    );
    assert.deepEqual(
      results,
      Array.from({ length: tasks }, (_, i) => i * 2)
    );
    // The queue drained: a new task still runs at once.
    assert.equal(await run(async () => 'after'), 'after');
  }
});

test('limiter frees the slot when a task throws', async () => {
  const run = limiter(1);
  await assert.rejects(
    run(async () => {
      throw new Error('boom');
    }),
    /boom/
  );
  assert.equal(await run(async () => 7), 7);
});
