import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { AllOf, boundedBy, boundedWait, everyAborted, untilAborted } from '../../src/common/wait.ts';

test('a bounded wait times out with a TimeoutError and says so', async () => {
  const caller = new AbortController();
  const w = boundedWait(caller.signal, 20);
  assert.equal(w.signal.aborted, false);
  await sleep(60);
  assert.equal(w.signal.aborted, true);
  assert.equal(w.timedOut, true);
  assert.equal((w.signal.reason as Error).name, 'TimeoutError');
  assert.match((w.signal.reason as Error).message, /within 20 ms/);
  w.done();
  assert.equal(getEventListeners(caller.signal, 'abort').length, 0, 'done() stops listening to the caller');
});

test("the caller's abort ends the wait with the caller's reason, not as a timeout", async () => {
  const caller = new AbortController();
  const w = boundedWait(caller.signal, 60_000);
  const reason = new Error('cancelled');
  caller.abort(reason);
  assert.equal(w.signal.aborted, true);
  assert.equal(w.signal.reason, reason);
  assert.equal(w.timedOut, false);
  w.done();
  // An already aborted caller's signal: the wait starts aborted, and its deadline is already gone.
  const pre = boundedWait(caller.signal, 20);
  assert.equal(pre.signal.aborted, true);
  assert.equal(pre.signal.reason, reason);
  await sleep(60);
  assert.equal(pre.timedOut, false, 'no timer left running');
});

test('done() leaves nothing behind: no abort later, no listener on the caller, callable twice', async () => {
  const caller = new AbortController();
  const w = boundedWait(caller.signal, 20);
  assert.equal(getEventListeners(caller.signal, 'abort').length, 1);
  w.done();
  w.done();
  assert.equal(getEventListeners(caller.signal, 'abort').length, 0);
  await sleep(60);
  assert.equal(w.signal.aborted, false, 'the timer was cleared');
  caller.abort(new Error('late'));
  assert.equal(w.signal.aborted, false, 'the caller is no longer followed');
  // Without a caller's signal, only the deadline.
  const alone = boundedWait(undefined, 20);
  await sleep(60);
  assert.equal(alone.timedOut, true);
  alone.done(); // nothing to stop listening to: no throw
});

test("boundedBy hands fn the wait's signal, returns or rethrows what fn did, and is done once fn settles", async () => {
  const caller = new AbortController();
  let seen: AbortSignal | null = null;
  const v = await boundedBy(caller.signal, 60_000, async (s) => {
    seen = s;
    assert.equal(getEventListeners(caller.signal, 'abort').length, 1, 'following the caller meanwhile');
    return 42;
  });
  assert.equal(v, 42);
  assert.ok(seen !== null && seen !== caller.signal);
  assert.equal(getEventListeners(caller.signal, 'abort').length, 0, 'done after a result');
  const boom = new Error('boom');
  await assert.rejects(
    boundedBy(caller.signal, 60_000, async () => {
      throw boom;
    }),
    (e) => e === boom
  );
  assert.equal(getEventListeners(caller.signal, 'abort').length, 0, 'done after a failure');
  // The deadline reaches fn's signal. (Its timer is unref'd, like AbortSignal.timeout's: a ref'd sleep beside it keeps
  // the test's event loop alive until it fires.)
  const [reason] = await Promise.all([boundedBy(undefined, 20, (s) => new Promise((r) => s.addEventListener('abort', () => r(s.reason)))), sleep(60)]);
  assert.equal((reason as Error).name, 'TimeoutError');
});

test('untilAborted: the promise, or the reason once the signal aborts, which leaves the promise going; no listener stays', async () => {
  assert.equal(await untilAborted(Promise.resolve(7)), 7, 'no signal: the promise itself');
  const gone = new AbortController();
  gone.abort(new Error('already'));
  await assert.rejects(untilAborted(new Promise(() => {}), gone.signal), /already/);
  const ac = new AbortController();
  let finish!: (v: number) => void;
  const shared = new Promise<number>((r) => (finish = r));
  const waiting = untilAborted(shared, ac.signal);
  assert.equal(getEventListeners(ac.signal, 'abort').length, 1);
  ac.abort(new Error('gave up'));
  await assert.rejects(waiting, /gave up/);
  assert.equal(getEventListeners(ac.signal, 'abort').length, 0);
  finish(3);
  assert.equal(await shared, 3, 'the shared promise went on');
  const ok = new AbortController();
  assert.equal(await untilAborted(shared, ok.signal), 3);
  await assert.rejects(untilAborted(Promise.reject(new Error('own')), ok.signal), /own/);
  assert.equal(getEventListeners(ok.signal, 'abort').length, 0, 'settled: listener removed');
});

test('everyAborted: none, one, some already aborted, all already aborted', () => {
  assert.equal(everyAborted([]), undefined);
  const only = new AbortController();
  assert.equal(everyAborted([only.signal]), only.signal, 'one signal is used as it is');
  const a = new AbortController(),
    b = new AbortController();
  a.abort(new Error('a'));
  const some = everyAborted([a.signal, b.signal])!;
  assert.equal(some.aborted, false, 'one of two still running');
  b.abort(new Error('b'));
  assert.equal(some.aborted, true);
  assert.equal(some.reason.message, 'b');
  const c = new AbortController(),
    d = new AbortController();
  c.abort(new Error('c'));
  d.abort(new Error('d'));
  const all = everyAborted([c.signal, d.signal])!;
  assert.equal(all.aborted, true, 'every one aborted already');
  assert.equal(all.reason.message, 'd');
});

/** Whether `p` has settled by the time the queued callbacks ran: 'resolved', 'rejected: <message>' or 'pending'. */
async function stateOf(p: Promise<unknown>): Promise<string> {
  let state = 'pending';
  p.then(
    () => (state = 'resolved'),
    (e: Error) => (state = `rejected: ${e.message}`)
  );
  await sleep(1);
  return state;
}

test('AllOf resolves once closed and every promise added has resolved, whatever their order', async () => {
  const all = new AllOf();
  const resolvers: (() => void)[] = [];
  for (let i = 0; i < 3; i++) all.add(new Promise<void>((r) => resolvers.push(r)));
  resolvers[2]();
  resolvers[0]();
  assert.equal(await stateOf(all.done), 'pending');
  resolvers[1]();
  assert.equal(await stateOf(all.done), 'pending', 'not before close()');
  all.add(Promise.resolve());
  all.close();
  assert.equal(await stateOf(all.done), 'resolved');
  assert.throws(() => all.add(Promise.resolve()), /after close/);
  const none = new AllOf();
  none.close();
  assert.equal(await stateOf(none.done), 'resolved');
  // Closed with one still unsettled: it waits for that one.
  const late = new AllOf();
  let last!: () => void;
  late.add(Promise.resolve());
  late.add(new Promise<void>((r) => (last = r)));
  late.close();
  assert.equal(await stateOf(late.done), 'pending');
  last();
  assert.equal(await stateOf(late.done), 'resolved');
});

test('AllOf rejects with the first rejection, before close() and with others pending', async () => {
  const all = new AllOf();
  all.add(new Promise(() => {}));
  all.add(Promise.reject(new Error('first')));
  all.add(Promise.reject(new Error('second')));
  assert.equal(await stateOf(all.done), 'rejected: first');
  // One that nobody waits for is not an unhandled rejection (the suite would fail on it).
  const ignored = new AllOf();
  ignored.add(Promise.reject(new Error('ignored')));
  ignored.close();
  await sleep(5);
});
