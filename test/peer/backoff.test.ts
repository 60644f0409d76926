// The finder's backoff (src/peer/finder.ts): peers that fail slowly are left out of candidate lists for a while,
// but a deadline that fires on a peer that answered lately is our own full uplink, not the peer gone (bench wan:
// a backup over 40 Mbit/s lost its candidates this way and failed "not happy").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createBackoff } from '../../src/peer/finder.ts';
import { AbortedError, StreamTimeoutError } from '../../src/net/errors.ts';

function clock() {
  let t = 1_000_000;
  return {
    now: () => t,
    advance: (ms: number) => {
      t += ms;
    }
  };
}
/** A call to `id` that takes `ms` on the clock and then settles with `outcome`. */
async function call(b: ReturnType<typeof createBackoff>, c: ReturnType<typeof clock>, id: string, ms: number, outcome: 'ok' | Error, signal?: AbortSignal) {
  const p = Promise.resolve().then(() => {
    c.advance(ms);
    if (outcome !== 'ok') throw outcome;
    return 'ok';
  });
  return b.watch(id, p, signal).catch((e: Error) => e);
}
const deadlineSignal = () => {
  const ac = new AbortController();
  ac.abort(new DOMException('timed out', 'TimeoutError'));
  return ac.signal;
};

test('a deadline on a silent peer marks it down; on a peer that answered lately it does not', async () => {
  const c = clock();
  const b = createBackoff(c.now);
  // Never answered: a 5 s deadline that fires marks it down.
  await call(b, c, 'silent', 5_000, new AbortedError(), deadlineSignal());
  assert.deepEqual([...b.down()], ['silent']);
  // Answered 2 s ago, then a deadline fires: it is busy taking our bytes, not gone.
  await call(b, c, 'busy', 10, 'ok');
  c.advance(2_000);
  await call(b, c, 'busy', 5_000, new AbortedError(), deadlineSignal());
  assert.deepEqual([...b.down()], ['silent']);
  // Its last answer long past, the same deadline marks it down after all.
  c.advance(40_000);
  assert.deepEqual([...b.down()], [], "the silent peer's backoff ran out");
  await call(b, c, 'busy', 5_000, new AbortedError(), deadlineSignal());
  assert.deepEqual([...b.down()], ['busy']);
});

test('a stream idle past its timeout marks a peer down even after a recent answer; fast failures and the caller giving up do not', async () => {
  const c = clock();
  const b = createBackoff(c.now);
  await call(b, c, 'p', 10, 'ok');
  await call(b, c, 'p', 30_000, new StreamTimeoutError(30_000));
  assert.deepEqual([...b.down()], ['p']);
  await call(b, c, 'p', 10, 'ok');
  assert.deepEqual([...b.down()], [], 'an answer clears it');
  await call(b, c, 'q', 5, new AbortedError(), deadlineSignal()); // fast: a refusal, not a timeout
  const gaveUp = new AbortController();
  gaveUp.abort(new Error('user cancelled'));
  await call(b, c, 'q', 5_000, new AbortedError(), gaveUp.signal);
  assert.deepEqual([...b.down()], []);
});

test('a peer left out while down is a candidate again when the caller looks again (refresh)', async () => {
  const { makePeer, removeHome } = await import('../net/helpers.ts');
  const { createFinder } = await import('../../src/peer/finder.ts');
  const { createFairness } = await import('../../src/fairness/service.ts');
  const { randomBytes } = await import('node:crypto');
  const { join } = await import('node:path');
  const [A, B, C] = await Promise.all([makePeer(), makePeer(), makePeer()]);
  const fairness = await createFairness({ settings: { enabled: false, ratio: 1, graceBytes: 0 }, ledgerPath: join(A.home, 'ledger') });
  try {
    await A.node.libp2p.dial(B.node.multiaddrs()[0]);
    await A.node.libp2p.dial(C.node.multiaddrs()[0]);
    const backoff = createBackoff();
    const { finder } = createFinder({ node: A.node, fairness, backoff });
    backoff.mark(B.node.peerId.toString()); // B failed slowly a moment ago (say, before we knew a way to it)
    const ids = async (refresh: boolean) => (await finder.candidates(randomBytes(32), 10, { refresh })).map((s) => s.id).sort();
    assert.deepEqual(await ids(false), [C.node.peerId.toString()], 'left out while down');
    assert.deepEqual(await ids(true), [B.node.peerId.toString(), C.node.peerId.toString()].sort(), 'back when looked for again');
  } finally {
    await fairness.close();
    for (const p of [A, B, C]) {
      await p.stop();
      await removeHome(p);
    }
  }
});
