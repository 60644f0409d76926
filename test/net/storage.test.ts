import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { makePeer, peerProcess, removeHome, testPack } from './helpers.ts';
import type { TestPeer } from './helpers.ts';
import { RemoteRefusedError, PeerUnreachableError, ProtocolError } from '../../src/net/index.ts';
import { ShareNotFoundError, OutOfRangeError } from '../../src/store/index.ts';
import { READ_REQUESTS_IN_FLIGHT, READ_REQUESTS_PER_PEER } from '../../src/net/constants.ts';

describe('storage protocol between real nodes', () => {
  let A: TestPeer, B: TestPeer, C: TestPeer;
  before(async () => {
    [A, B, C] = await Promise.all([makePeer(), makePeer(), makePeer()]);
  });
  after(async () => {
    for (const p of [A, B, C]) {
      await p?.stop().catch(() => {});
      await removeHome(p);
    }
  });

  test('A writes a share to B, reads ranges back, lists, renews, deletes', async () => {
    const b = A.node.storage(B.node.multiaddrs()[0]);
    const { si, ueb, shares } = testPack(3 * 1024 * 1024 + 123);
    const data = shares[2];
    const st = await b.stats();
    assert.equal(st.offered, 64 * 1024 * 1024);
    assert.equal(st.used, 0);
    assert.deepEqual(await b.canAccept(si, 2, data.length), { ok: true });
    const progress: number[] = [];
    async function* chunks() {
      for (let i = 0; i < data.length; i += 700_000) yield data.subarray(i, i + 700_000);
    }
    const r = await b.writeShare(si, 2, chunks(), data.length, { ueb, onProgress: (e) => progress.push(e.sent) });
    assert.equal(r.status, 'written');
    assert.equal(progress.at(-1), data.length);
    // owner recorded is A's authenticated peer ID
    assert.equal((await B.store.get(si, 2))?.owner, A.node.peerId.toString());
    const [whole, mid, tail] = await b.read(si, 2, [
      [0, data.length],
      [1_000_000, 10],
      [data.length - 5, 5]
    ]);
    assert.ok(Buffer.from(whole).equals(data));
    assert.ok(Buffer.from(mid).equals(data.subarray(1_000_000, 1_000_010)));
    assert.ok(Buffer.from(tail).equals(data.subarray(-5)));
    // Plain Uint8Arrays (a Buffer's slice() would share memory), each over exactly its range's bytes.
    for (const r of [whole, mid, tail]) assert.equal(Object.getPrototypeOf(r), Uint8Array.prototype);
    assert.equal(mid.length, 10);
    assert.deepEqual(await b.list(si), [{ shareNum: 2, size: data.length }]);
    assert.equal(((await b.canAccept(si, 2, data.length)) as { reason: string }).reason, 'exists');
    assert.deepEqual(await b.writeShare(si, 2, data, data.length, { ueb }), { status: 'exists' });
    await assert.rejects(b.read(si, 2, [[data.length - 1, 2]]), OutOfRangeError);
    await assert.rejects(b.read(si, 3, [[0, 1]]), ShareNotFoundError);
    const until = Date.now() + 90 * 24 * 3600 * 1000;
    assert.equal(await b.renew(si, [2], until), 1);
    assert.equal((await B.store.get(si, 2))?.leaseExpiry, until);
    assert.equal(await b.renew(si, 'all', until + 1), 1);
    await b.delete(si, 2);
    assert.deepEqual(await b.list(si), []);
    assert.equal((await b.stats()).used, 0);
  });

  test('a read bigger than one request sends its requests side by side, and fails whole when one of them fails', async () => {
    const b = A.node.storage(B.node.multiaddrs()[0]);
    const { si, ueb, shares } = testPack(5 * 1024 * 1024 + 321, 1);
    const data = shares[0];
    await b.writeShare(si, 0, data, data.length, { ueb });
    // B's store answers each range after 100 ms and counts how many it is answering at once.
    const store = B.store;
    const read = store.read.bind(store);
    let now = 0;
    let most = 0;
    let failAt = -1;
    store.read = async (s, n, offset, length) => {
      most = Math.max(most, ++now);
      try {
        await new Promise((r) => setTimeout(r, 100));
        if (offset === failAt) throw new OutOfRangeError('made to fail here', {});
        return await read(s, n, offset, length);
      } finally {
        now--;
      }
    };
    try {
      const [whole] = await b.read(si, 0, [[0, data.length]]);
      assert.ok(Buffer.from(whole).equals(data));
      assert.ok(most >= 2, `at most ${most} request(s) of a 5 MiB read were answered at once`);
      // Assembled in the caller's buffer when it gives one (a whole share's pooled buffer in decode.ts).
      const into = new Uint8Array(data.length + 10);
      const [again] = await b.read(si, 0, [[0, data.length]], { into });
      assert.equal(again.buffer, into.buffer);
      assert.equal(again.length, data.length);
      assert.ok(Buffer.from(into.subarray(0, data.length)).equals(data));
      // Ten such reads at once, through clients of their own (by address and by peer id): the node lets at
      // most READ_REQUESTS_PER_PEER requests to one peer run (each is a stream the peer serves), not 10 x 4.
      most = 0;
      const reads = await Promise.all(
        Array.from({ length: 10 }, (_, i) => A.node.storage(i % 2 ? B.node.multiaddrs()[0] : B.node.peerId).read(si, 0, [[0, data.length]]))
      );
      for (const [r] of reads) assert.ok(Buffer.from(r).equals(data));
      assert.ok(most > READ_REQUESTS_IN_FLIGHT && most <= READ_REQUESTS_PER_PEER, `${most} requests answered at once`);
      failAt = 2 * 1024 * 1024;
      await assert.rejects(b.read(si, 0, [[0, data.length]]), OutOfRangeError);
    } finally {
      delete (store as { read?: unknown }).read;
    }
  });

  test("C cannot delete, renew or overwrite A's share on B", async () => {
    const {
      si,
      ueb,
      shares: [data]
    } = testPack(50_000);
    // By peer ID: A already knows B's address from the previous test's connection.
    assert.equal((await A.node.storage(B.node.peerId).writeShare(si, 0, data, data.length, { ueb })).status, 'written');
    const c = C.node.storage(B.node.multiaddrs()[0]);
    await assert.rejects(c.delete(si, 0), (e: unknown) => e instanceof RemoteRefusedError && e.reason === 'not-owner');
    await assert.rejects(c.renew(si, [0], Date.now() + 1e9), (e: unknown) => e instanceof RemoteRefusedError && e.reason === 'not-owner');
    assert.equal(await c.renew(si, 'all', Date.now() + 1e9), 0);
    await assert.rejects(c.writeShare(si, 0, data, data.length, { ueb }), (e: unknown) => e instanceof RemoteRefusedError && e.reason === 'conflict');
    const [back] = await c.read(si, 0, [[0, data.length]]); // reads are open to anyone (shares are ciphertext)
    assert.ok(Buffer.from(back).equals(data));
  });

  test('refusals: quota, and a lying size leaves nothing behind', async () => {
    const b = A.node.storage(B.node.multiaddrs()[0]);
    const { si, ueb, shares } = testPack(150);
    const size = shares[0].length;
    assert.equal(((await b.canAccept(si, 0, 65 * 1024 * 1024)) as { reason: string }).reason, 'quota');
    await assert.rejects(b.writeShare(si, 1, shares[1].subarray(0, 100), size, { ueb }), ProtocolError);
    await assert.rejects(b.writeShare(si, 2, Buffer.concat([shares[2], randomBytes(100)]), size, { ueb }), ProtocolError);
    // The server notices the reset stream asynchronously; until then the slot is 'busy'.
    for (let i = 0; i < 40 && B.store.stats().reserved !== 0; i++) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(await b.list(si), []);
    assert.equal(B.store.stats().reserved, 0);
    assert.deepEqual(await b.canAccept(si, 1, size), { ok: true });
  });

  test("a share is committed only if its pack's UEB commits to it: squatted, forged and foreign shares are refused", async () => {
    const b = A.node.storage(B.node.multiaddrs()[0]);
    const { si, ueb, shares } = testPack(300_000);
    const other = testPack(300_000);
    const size = shares[0].length;
    const invalid = (re: RegExp) => (e: unknown) => e instanceof RemoteRefusedError && e.reason === 'invalid' && re.test(e.message);
    // Before any byte: the UEB must hash to the storage index, the share number be below n, the size be the UEB's.
    await assert.rejects(b.writeShare(si, 0, shares[0], size, { ueb: other.ueb }), invalid(/does not hash to this storage index/));
    await assert.rejects(b.writeShare(si, 6, shares[0], size, { ueb }), invalid(/share 6 of a 1-of-6 pack/));
    await assert.rejects(b.writeShare(si, 0, shares[0].subarray(0, 64), 64, { ueb }), invalid(/is not the \d+ bytes the UEB implies/));
    await assert.rejects(b.writeShare(si, 0, new Uint8Array(0), 0, { ueb }), invalid(/share size 0/));
    // Bytes of the right size that are not this share: random, another share number's, one flipped block byte.
    await assert.rejects(b.writeShare(si, 0, randomBytes(size), size, { ueb }), invalid(/header/));
    await assert.rejects(b.writeShare(si, 0, shares[1], size, { ueb }), invalid(/header/));
    const flipped = Uint8Array.from(shares[0]);
    flipped[200_000] ^= 1;
    await assert.rejects(b.writeShare(si, 0, flipped, size, { ueb }), invalid(/block tree/));
    // A forged tail: a tree of the forged blocks, but then the share roots cannot match the UEB's.
    const forged = Uint8Array.from(shares[0]);
    forged[size - 100] ^= 1;
    await assert.rejects(b.writeShare(si, 0, forged, size, { ueb }), invalid(/UEB|footer|roots/));
    for (let i = 0; i < 40 && B.store.stats().reserved !== 0; i++) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(await b.list(si), []);
    assert.equal(B.store.stats().reserved, 0);
    // The real share still goes in, whole.
    assert.equal((await b.writeShare(si, 0, shares[0], size, { ueb })).status, 'written');
    assert.deepEqual(await b.list(si), [{ shareNum: 0, size }]);
  });

  test('unreachable peer → PeerUnreachableError', async () => {
    const dead = await makePeer();
    const addr = dead.node.multiaddrs()[0];
    await dead.stop();
    await removeHome(dead);
    await assert.rejects(A.node.storage(addr).stats(), PeerUnreachableError);
  });

  test('restart keeps the peer ID and serves shares from disk', async () => {
    const { si, ueb, shares } = testPack(200_000);
    const data = shares[5];
    await A.node.storage(C.node.multiaddrs()[0]).writeShare(si, 5, data, data.length, { ueb });
    const id = C.node.peerId.toString();
    C = await C.restart();
    assert.equal(C.node.peerId.toString(), id);
    const [back] = await A.node.storage(C.node.multiaddrs()[0]).read(si, 5, [[0, data.length]]);
    assert.ok(Buffer.from(back).equals(data));
  });
});

test('idle stream: server times out a stalled upload and drops it', async () => {
  const { encodeFrame, FrameReader, MSG, STORAGE_PROTOCOL } = await import('../../src/net/index.ts');
  const S = await makePeer({ server: { idleMs: 300 } });
  const U = await makePeer();
  try {
    const { si, ueb, shares } = testPack(100);
    const s = await U.node.libp2p.dialProtocol(S.node.multiaddrs()[0], STORAGE_PROTOCOL);
    const reader = new FrameReader(s, { idleMs: 5000 });
    s.send(encodeFrame(MSG.WRITE, { si: Buffer.from(si).toString('hex'), shareNum: 0, size: shares[0].length, ueb: Buffer.from(ueb).toString('hex') }));
    assert.equal((await reader.next())?.type, MSG.OK);
    s.send(encodeFrame(MSG.DATA, {}, shares[0].subarray(0, 10)));
    const t0 = Date.now();
    const f = await reader.next();
    assert.equal(f?.type, MSG.ERROR);
    assert.equal(f?.header.code, 'ERR_STREAM_TIMEOUT');
    assert.ok(Date.now() - t0 < 3000);
    reader.release();
    assert.equal(S.store.stats().reserved, 0);
    assert.deepEqual(await S.store.list(si), []);
  } finally {
    for (const p of [S, U]) {
      await p.stop().catch(() => {});
      await removeHome(p);
    }
  }
});

test(
  'a peer that stops mid-upload (SIGSTOP: its socket stays open, nothing is read): the writer gives up after its idle time',
  { timeout: 60_000 },
  async (t) => {
    const { StreamTimeoutError } = await import('../../src/net/index.ts');
    const gaveUp = (e: unknown) => e instanceof StreamTimeoutError || e instanceof PeerUnreachableError;
    // A storage peer in its own process, which we freeze once the upload is under way.
    const { addr, child } = await peerProcess(t);
    const U = await makePeer({ client: { idleMs: 1000 } });
    t.after(async () => {
      await U.stop().catch(() => {});
      await removeHome(U);
    });
    // The peer offers 64 MiB; a 48 MiB share is far more than the windows and socket buffers hold.
    const {
      si,
      ueb,
      shares: [share]
    } = testPack(48 * 2 ** 20, 1);
    const size = share.length;
    let stopped = false;
    const t0 = Date.now();
    await assert.rejects(
      U.node.storage(addr).writeShare(
        si,
        0,
        (function* () {
          for (let sent = 0; sent < size; sent += 2 ** 20) {
            if (sent >= 4 * 2 ** 20 && !stopped) {
              stopped = true;
              child.kill('SIGSTOP');
            }
            yield share.subarray(sent, sent + 2 ** 20);
          }
        })(),
        size,
        { ueb }
      ),
      gaveUp
    );
    assert.ok(stopped, 'the peer was frozen mid-upload');
    assert.ok(Date.now() - t0 < 20_000, 'given up after the idle time, not after TCP would');
  }
);
