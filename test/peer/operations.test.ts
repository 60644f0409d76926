// The registry of long operations (src/peer/operations.ts) and the restore throttle (src/peer/folders.ts),
// on their own: ids, states, progress on the bus (throttled, last one kept), cancelling by id or through
// the caller's signal, the bounded list of finished ones; the throttle's waits on a fake clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createOperations, FINISHED_KEPT, progressOfStatus } from '../../src/peer/operations.ts';
import { createThrottle } from '../../src/peer/folders.ts';
import type { ProgressEvent } from '../../src/api/service.ts';

function registry() {
  const events: ProgressEvent[] = [];
  let t = 1_000;
  const ops = createOperations({ emit: (e) => events.push(e), now: () => t });
  return {
    ops,
    events,
    tick: (ms: number) => {
      t += ms;
    }
  };
}
/** A promise and its resolve, to hold an operation open. */
const gate = () => {
  let open!: () => void;
  const p = new Promise<void>((r) => {
    open = r;
  });
  return { p, open };
};

test('an operation is listed while it runs, with its progress; then kept as done, newest first', async () => {
  const { ops, events, tick } = registry();
  const g = gate();
  const running = ops.run({ kind: 'restore', origin: 'api', title: 'Restore of /a', folder: '/a' }, async (op) => {
    op.status({
      type: 'backup:restore:status',
      files: 2,
      bytes: 20,
      totalFiles: 10,
      totalBytes: 100,
      bytesPerSecond: 5,
      etaSeconds: 16,
      elapsedSeconds: 4
    } as never);
    op.status({ type: 'backup:restore:file', path: '/x' } as { type: string }); // per-item events are not progress
    await g.p;
    return 42;
  });
  const [op] = ops.list();
  assert.deepEqual([op.kind, op.origin, op.title, op.folder, op.state, op.startedAt], ['restore', 'api', 'Restore of /a', '/a', 'running', 1_000]);
  assert.deepEqual(op.progress, { files: 2, bytes: 20, totalFiles: 10, totalBytes: 100, bytesPerSecond: 5, etaSeconds: 16 });
  op.progress!.files = 99; // a copy: the registry's own record is not the caller's to change
  assert.equal(ops.get(op.id)!.progress!.files, 2);
  tick(500);
  g.open();
  assert.equal(await running, 42);
  const done = ops.get(op.id)!;
  assert.deepEqual([done.state, done.finishedAt, done.error], ['done', 1_500, undefined]);
  assert.deepEqual(
    events.map((e) => e.type),
    ['operation:start', 'operation:progress', 'operation:end']
  );
  assert.equal((events[2].operation as { state: string }).state, 'done');

  await ops.run({ kind: 'check', origin: 'health', title: 'second' }, async () => {});
  assert.deepEqual(
    ops.list().map((o) => o.title),
    ['second', 'Restore of /a'],
    'finished: newest first'
  );
});

test('progress goes to the bus at most every 500 ms per operation, and the latest values are the ones sent', async () => {
  const { ops, events, tick } = registry();
  const g = gate();
  const running = ops.run({ kind: 'check', origin: 'api', title: 'deep check' }, async (op) => {
    for (let i = 1; i <= 5; i++) op.progress({ files: i, totalFiles: 5 }); // one turn: the first goes out, the rest wait
    tick(600);
    await g.p;
  });
  const sent = () => events.filter((e) => e.type === 'operation:progress').map((e) => (e.operation as any).progress.files);
  assert.deepEqual(sent(), [1]);
  await new Promise((r) => setTimeout(r, 600)); // the pending timer (real time) fires with the newest counts
  assert.deepEqual(sent(), [1, 5]);
  g.open();
  await running;
});

test('cancel by id: the signal fires, the operation ends "cancelled" whatever it threw; unknown ids are NotFound', async () => {
  const { ops } = registry();
  const running = ops.run(
    { kind: 'backup', origin: 'sync', title: 'Backup of /b' },
    (op) =>
      new Promise((_, reject) => {
        op.signal.addEventListener('abort', () => reject(new Error('stopped half way')));
      })
  );
  const id = ops.list()[0].id;
  assert.equal(ops.cancel(id).state, 'running', 'answers at once');
  await assert.rejects(running, /stopped half way/);
  const ended = ops.get(id)!;
  assert.deepEqual([ended.state, ended.error?.code, ended.error?.message], ['cancelled', 'ERR_ABORTED', 'cancelled by the user']);
  assert.equal(ops.cancel(id).state, 'cancelled', 'a finished one is answered as it is');
  assert.throws(() => ops.cancel('nope'), { name: 'NotFoundError' });
});

test("the caller's signal cancels it too (an API client gone); a failure is 'failed' with its code", async () => {
  const { ops } = registry();
  const caller = new AbortController();
  const running = ops.run(
    { kind: 'restore', origin: 'api', title: 'r', signal: caller.signal },
    (op) =>
      new Promise((_, reject) => {
        op.signal.addEventListener('abort', () => reject(op.signal.reason));
      })
  );
  caller.abort(new Error('client gone'));
  await assert.rejects(running, /client gone/);
  assert.equal(ops.list()[0].state, 'cancelled');
  await assert.rejects(
    ops.run({ kind: 'check', origin: 'api', title: 'f' }, async () => {
      throw Object.assign(new Error('boom'), {});
    }),
    /boom/
  );
  assert.deepEqual([ops.list()[0].state, ops.list()[0].error?.code], ['failed', 'ERR_INTERNAL']);
});

test(`only the latest ${FINISHED_KEPT} finished operations are kept, and of the health loop's routine rounds only the latest`, async () => {
  const { ops } = registry();
  for (let i = 0; i < FINISHED_KEPT + 5; i++) await ops.run({ kind: 'check', origin: 'api', title: `check ${i}` }, async () => {});
  let list = ops.list();
  assert.equal(list.length, FINISHED_KEPT);
  assert.equal(list[0].title, `check ${FINISHED_KEPT + 4}`);
  for (let i = 0; i < 3; i++) await ops.run({ kind: 'check', origin: 'health', title: `round ${i}` }, async () => {});
  await ops.run({ kind: 'repair', origin: 'health', title: 'repair' }, async () => {});
  list = ops.list();
  assert.deepEqual(
    list.slice(0, 3).map((o) => o.title),
    ['repair', 'round 2', `check ${FINISHED_KEPT + 4}`]
  );
});

test('progressOfStatus keeps the counts it knows and drops anything else', () => {
  assert.deepEqual(progressOfStatus({ type: 'x', files: 1, bytes: -1, totalBytes: Number.NaN, etaSeconds: 3, junk: 'y' }), { files: 1, etaSeconds: 3 });
});

test('the restore throttle waits so that the bytes taken never run ahead of the rate', async () => {
  let t = 0;
  const waits: number[] = [];
  const take = createThrottle(1000, {
    now: () => t,
    sleep: async (ms) => {
      waits.push(ms);
      t += ms;
    }
  });
  await take(500); // half a second of budget
  await take(500);
  t += 5_000; // idle: no credit saved up beyond the moment
  await take(250);
  assert.deepEqual(waits, [500, 500, 250]);
  const aborted = new AbortController();
  aborted.abort();
  const real = createThrottle(1);
  await assert.rejects(real(1_000_000, aborted.signal), { name: 'AbortError' });
});

test("stopping: every running operation is cancelled but the sync engine's, which stops its own (journaled as interrupted)", async () => {
  const { ops } = registry();
  const hold = (origin: 'api' | 'sync') =>
    ops
      .run(
        { kind: origin === 'api' ? 'restore' : 'backup', origin, title: origin },
        (op) =>
          new Promise((_, reject) => {
            op.signal.addEventListener('abort', () => reject(op.signal.reason));
          })
      )
      .catch(() => {});
  const both = [hold('api'), hold('sync')];
  ops.cancelAll('the daemon is stopping', { except: 'sync' });
  await both[0];
  assert.deepEqual(
    ops.list().map((o) => [o.title, o.state]),
    [
      ['sync', 'running'],
      ['api', 'cancelled']
    ]
  );
  ops.cancelAll('now the rest');
  await both[1];
  assert.equal(ops.list().find((o) => o.title === 'sync')!.state, 'cancelled');
});
