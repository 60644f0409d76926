import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makePeer, removeHome } from './helpers.ts';
import type { TestPeer } from './helpers.ts';
import { RemoteRefusedError, PeerUnreachableError, ProtocolError } from '../../src/net/index.ts';
import { ShareNotFoundError, OutOfRangeError } from '../../src/store/index.ts';

describe('storage protocol between real nodes', () => {
  let A: TestPeer, B: TestPeer, C: TestPeer;
  before(async () => { [A, B, C] = await Promise.all([makePeer(), makePeer(), makePeer()]); });
  after(async () => { for (const p of [A, B, C]) { await p?.stop().catch(() => {}); await removeHome(p); } });

  test('A writes a share to B, reads ranges back, lists, renews, deletes', async () => {
    const b = A.node.storage(B.node.multiaddrs()[0]);
    const si = randomBytes(16);
    const data = randomBytes(3 * 1024 * 1024 + 123);
    const st = await b.stats();
    assert.equal(st.offered, 64 * 1024 * 1024);
    assert.equal(st.used, 0);
    assert.deepEqual(await b.canAccept(si, 2, data.length), { ok: true });
    const progress: number[] = [];
    async function* chunks() { for (let i = 0; i < data.length; i += 700_000) yield data.subarray(i, i + 700_000); }
    const r = await b.writeShare(si, 2, chunks(), data.length, { onProgress: (e) => progress.push(e.sent) });
    assert.equal(r.status, 'written');
    assert.equal(progress.at(-1), data.length);
    // owner recorded is A's authenticated peer ID
    assert.equal((await B.store.get(si, 2))?.owner, A.node.peerId.toString());
    const [whole, mid, tail] = await b.read(si, 2, [[0, data.length], [1_000_000, 10], [data.length - 5, 5]]);
    assert.ok(Buffer.from(whole).equals(data));
    assert.ok(Buffer.from(mid).equals(data.subarray(1_000_000, 1_000_010)));
    assert.ok(Buffer.from(tail).equals(data.subarray(-5)));
    assert.deepEqual(await b.list(si), [{ shareNum: 2, size: data.length }]);
    assert.equal((await b.canAccept(si, 2, data.length) as { reason: string }).reason, 'exists');
    assert.deepEqual(await b.writeShare(si, 2, data, data.length), { status: 'exists' });
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

  test('C cannot delete, renew or overwrite A\'s share on B', async () => {
    const si = randomBytes(16);
    const data = randomBytes(50_000);
    // By peer ID: A already knows B's address from the previous test's connection.
    assert.equal((await A.node.storage(B.node.peerId).writeShare(si, 0, data, data.length)).status, 'written');
    const c = C.node.storage(B.node.multiaddrs()[0]);
    await assert.rejects(c.delete(si, 0), (e: unknown) => e instanceof RemoteRefusedError && e.reason === 'not-owner');
    await assert.rejects(c.renew(si, [0], Date.now() + 1e9), (e: unknown) => e instanceof RemoteRefusedError && e.reason === 'not-owner');
    assert.equal(await c.renew(si, 'all', Date.now() + 1e9), 0);
    await assert.rejects(c.writeShare(si, 0, randomBytes(50_000), 50_000), (e: unknown) => e instanceof RemoteRefusedError && e.reason === 'conflict');
    const [back] = await c.read(si, 0, [[0, data.length]]); // reads are open to anyone (shares are ciphertext)
    assert.ok(Buffer.from(back).equals(data));
  });

  test('refusals: quota, and a lying size leaves nothing behind', async () => {
    const b = A.node.storage(B.node.multiaddrs()[0]);
    const si = randomBytes(16);
    await assert.rejects(b.writeShare(si, 0, new Uint8Array(10), 65 * 1024 * 1024), (e: unknown) => e instanceof RemoteRefusedError && e.reason === 'quota');
    await assert.rejects(b.writeShare(si, 1, randomBytes(100), 200), ProtocolError);
    await assert.rejects(b.writeShare(si, 2, randomBytes(300), 200), ProtocolError);
    // The server notices the reset stream asynchronously; until then the slot is 'busy'.
    for (let i = 0; i < 40 && B.store.stats().reserved !== 0; i++) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(await b.list(si), []);
    assert.equal(B.store.stats().reserved, 0);
    assert.deepEqual(await b.canAccept(si, 1, 200), { ok: true });
  });

  test('unreachable peer → PeerUnreachableError', async () => {
    const dead = await makePeer();
    const addr = dead.node.multiaddrs()[0];
    await dead.stop();
    await removeHome(dead);
    await assert.rejects(A.node.storage(addr).stats(), PeerUnreachableError);
  });

  test('restart keeps the peer ID and serves shares from disk', async () => {
    const si = randomBytes(16);
    const data = randomBytes(200_000);
    await A.node.storage(C.node.multiaddrs()[0]).writeShare(si, 5, data, data.length);
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
    const si = randomBytes(16);
    const s = await U.node.libp2p.dialProtocol(S.node.multiaddrs()[0], STORAGE_PROTOCOL);
    const reader = new FrameReader(s, { idleMs: 5000 });
    s.send(encodeFrame(MSG.WRITE, { si: si.toString('hex'), shareNum: 0, size: 100 }));
    assert.equal((await reader.next())?.type, MSG.OK);
    s.send(encodeFrame(MSG.DATA, {}, randomBytes(10)));
    const t0 = Date.now();
    const f = await reader.next();
    assert.equal(f?.type, MSG.ERROR);
    assert.equal(f?.header.code, 'ERR_STREAM_TIMEOUT');
    assert.ok(Date.now() - t0 < 3000);
    reader.release();
    assert.equal(S.store.stats().reserved, 0);
    assert.deepEqual(await S.store.list(si), []);
  } finally {
    for (const p of [S, U]) { await p.stop().catch(() => {}); await removeHome(p); }
  }
});

test('a peer that stops mid-upload (SIGSTOP: its socket stays open, nothing is read): the writer gives up after its idle time', { timeout: 60_000 }, async (t) => {
  const { StreamTimeoutError } = await import('../../src/net/index.ts');
  const gaveUp = (e: unknown) => e instanceof StreamTimeoutError || e instanceof PeerUnreachableError;
  // A storage peer in its own process, which we freeze once the upload is under way. Its home is made
  // here and removed here: the process dies by SIGKILL, so it cannot clean up after itself.
  const home = await mkdtemp(join(tmpdir(), 'p2pb-net-'));
  const child = spawn(process.execPath, ['--input-type=module', '-e', `
    const { makePeer } = await import(${JSON.stringify(new URL('./helpers.ts', import.meta.url).href)});
    const p = await makePeer({}, ${JSON.stringify(home)});
    console.log(p.node.multiaddrs()[0].toString());
  `], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  t.after(async () => {
    child.kill('SIGKILL'); // also ends a stopped process
    await exited;
    await rm(home, { recursive: true, force: true });
  });
  const addr = await new Promise<string>((resolve, reject) => {
    child.stdout!.setEncoding('utf8').once('data', (d: string) => resolve(d.trim().split('\n')[0]));
    child.once('exit', (c) => reject(new Error(`the peer process exited (${c})`)));
  });
  const U = await makePeer({ client: { idleMs: 1000 } });
  t.after(async () => { await U.stop().catch(() => {}); await removeHome(U); });
  const size = 48 * 2 ** 20; // the peer offers 64 MiB; far more than the windows and socket buffers hold
  let stopped = false;
  const t0 = Date.now();
  await assert.rejects(U.node.storage(addr).writeShare(randomBytes(16), 0, (function* () {
    for (let sent = 0; sent < size; sent += 2 ** 20) {
      if (sent >= 4 * 2 ** 20 && !stopped) { stopped = true; child.kill('SIGSTOP'); }
      yield new Uint8Array(2 ** 20);
    }
  })(), size), gaveUp);
  assert.ok(stopped, 'the peer was frozen mid-upload');
  assert.ok(Date.now() - t0 < 20_000, 'given up after the idle time, not after TCP would');
});
