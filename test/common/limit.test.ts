// The restore/backup semaphore: never more than n tasks at once, FIFO, every task run once, also with a
// queue of tens of thousands (a restore queues every file of a tree at once).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keyedLimiter, limiter } from '../../src/common/limit.ts';

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

test('keyedLimiter: n at a time per key, keys independent, and a key is forgotten once nothing of it runs or waits', async () => {
  const gates = keyedLimiter(2);
  const active = new Map<string, number>();
  const peak = new Map<string, number>();
  const task =
    (key: string, fail = false) =>
    async () => {
      const now = (active.get(key) ?? 0) + 1;
      active.set(key, now);
      peak.set(key, Math.max(peak.get(key) ?? 0, now));
      await new Promise((r) => setImmediate(r));
      active.set(key, active.get(key)! - 1);
      if (fail) throw new Error(`boom ${key}`);
      return key;
    };
  const runs = [
    ...Array.from({ length: 6 }, () => gates.run('a', task('a'))),
    ...Array.from({ length: 3 }, () => gates.run('b', task('b'))),
    gates.run('c', task('c', true))
  ];
  assert.equal(gates.size, 3, 'three keys with tasks running or waiting');
  const settled = await Promise.allSettled(runs);
  assert.deepEqual(
    settled.map((s) => (s.status === 'fulfilled' ? s.value : 'rejected')),
    ['a', 'a', 'a', 'a', 'a', 'a', 'b', 'b', 'b', 'rejected']
  );
  assert.equal(peak.get('a'), 2);
  assert.equal(peak.get('b'), 2);
  assert.equal(gates.size, 0, 'every key forgotten once its tasks settled, a failed one too');
  // A key used again gets a fresh limiter of the same size.
  await Promise.all(Array.from({ length: 4 }, () => gates.run('a', task('a'))));
  assert.equal(peak.get('a'), 2);
  assert.equal(gates.size, 0);
  // 10,000 one-off keys (peer ids that came and went) leave nothing behind.
  await Promise.all(Array.from({ length: 10_000 }, (_, i) => gates.run(`peer-${i}`, async () => i)));
  assert.equal(gates.size, 0);
});

test('keyedLimiter keeps a key while any of its tasks runs or waits: a task started then shares the same bound', async () => {
  const gates = keyedLimiter(2);
  let active = 0;
  let peak = 0;
  const releases: (() => void)[] = [];
  const tick = () => new Promise((r) => setImmediate(r));
  const task = () =>
    gates.run('a', async () => {
      peak = Math.max(peak, ++active);
      await new Promise<void>((r) => releases.push(r));
      active--;
    });
  const first = [task(), task(), task()]; // two run, one waits
  await tick();
  releases.shift()!(); // one ends, the waiting one starts: the key still has two tasks
  await tick();
  const later = [task(), task()]; // must queue behind the same gate, not start under a fresh one
  await tick();
  assert.equal(peak, 2);
  assert.equal(gates.size, 1);
  while (releases.length) {
    releases.shift()!();
    await tick();
  }
  await Promise.all([...first, ...later]);
  assert.equal(peak, 2, 'never more than 2 at once for the key');
  assert.equal(gates.size, 0);
});
