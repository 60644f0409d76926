// Keep-alive (src/net/keepalive.ts) between real nodes over TCP: a connection that receives is not pinged, a
// silent one is (and stays open when answered), and one to a frozen process (SIGSTOP: its socket stays open,
// nothing comes back) is aborted after its ping's timeout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { byteStream } from '@libp2p/utils';
import { peerIdFromString } from '@libp2p/peer-id';
import { multiaddr } from '@multiformats/multiaddr';
import { makePeer, removeHome, type TestPeer } from './helpers.ts';
import { PING_PROTOCOL } from '../../src/net/keepalive.ts';

/** Replace `p`'s ping handler by one that answers the same and counts the pings it got. */
async function countPings(p: TestPeer): Promise<{ n: number }> {
  const got = { n: 0 };
  await p.node.libp2p.unhandle(PING_PROTOCOL);
  await p.node.libp2p.handle(
    PING_PROTOCOL,
    async (stream) => {
      got.n++;
      const bytes = await byteStream(stream).read({ bytes: 32 });
      stream.send(bytes.subarray());
      await stream.close().catch(() => {});
    },
    { maxInboundStreams: 8 }
  );
  return got;
}

test('a connection that keeps receiving is not pinged; one silent for an interval is, and stays open when answered', { timeout: 60_000 }, async (t) => {
  const keepAlive = { intervalMs: 1_000, timeoutMs: 5_000 };
  const A = await makePeer({ reachability: false, keepAlive });
  const B = await makePeer({ reachability: false, keepAlive });
  t.after(async () => {
    for (const p of [A, B]) {
      await p.stop().catch(() => {});
      await removeHome(p);
    }
  });
  const [atA, atB] = [await countPings(A), await countPings(B)];
  const b = B.node.peerId;
  await A.node.libp2p.peerStore.merge(b, { multiaddrs: B.node.multiaddrs() });
  const { connection } = await A.node.paths.connect(b, AbortSignal.timeout(10_000));
  // Kad-DHT pings a new contact once before it takes it into its routing table: those come first.
  await sleep(300);
  const before = atA.n + atB.n;
  // Requests both ways of the one connection, every 200 ms, for 3.5 intervals: neither end is ever silent.
  const until = Date.now() + 3_500;
  while (Date.now() < until) {
    assert.deepEqual(await A.node.storage(b).list(randomBytes(16)), []);
    await sleep(200);
  }
  const pings = () => A.node.keepAlive.stats.pings + B.node.keepAlive.stats.pings;
  assert.equal(atA.n + atB.n - before, 0, `no ping while the connection carries requests (A got ${atA.n}, B got ${atB.n}, ${before} before)`);
  assert.equal(pings(), 0);
  // Now silent (Yamux's own ping comes every 30 s): within 1.5 intervals and a bit, someone pings.
  for (let i = 0; i < 40 && atA.n + atB.n === before; i++) await sleep(100);
  assert.ok(atA.n + atB.n > before && pings() > 0, 'a silent connection was pinged');
  await sleep(500);
  assert.equal(connection.status, 'open', 'an answered ping leaves the connection open');
  for (const p of [A, B]) {
    assert.equal(p.node.keepAlive.stats.unwatched, 0, "every connection's received bytes were watched (libp2p keeps Connection.maConn)");
    assert.equal(p.node.keepAlive.stats.aborted, 0);
  }
});

test('a connection to a frozen peer (SIGSTOP) is pinged and aborted once the ping times out', { timeout: 60_000 }, async (t) => {
  const home = await mkdtemp(join(tmpdir(), 'p2pb-net-'));
  const child = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `
    const { makePeer } = await import(${JSON.stringify(new URL('./helpers.ts', import.meta.url).href)});
    const p = await makePeer({ reachability: false }, ${JSON.stringify(home)});
    console.log(p.node.multiaddrs()[0].toString());
  `
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] }
  );
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const A = await makePeer({ reachability: false, keepAlive: { intervalMs: 1_000, timeoutMs: 2_000 } });
  t.after(async () => {
    child.kill('SIGKILL'); // also ends a stopped process
    await exited;
    await rm(home, { recursive: true, force: true });
    await A.stop().catch(() => {});
    await removeHome(A);
  });
  const addr = await new Promise<string>((resolve, reject) => {
    child.stdout!.setEncoding('utf8').once('data', (d: string) => resolve(d.trim().split('\n')[0]));
    child.once('exit', (c) => reject(new Error(`the peer process exited (${c})`)));
  });
  const peer = peerIdFromString(
    multiaddr(addr)
      .getComponents()
      .findLast((c) => c.name === 'p2p')!.value!
  );
  await A.node.libp2p.peerStore.merge(peer, { multiaddrs: [multiaddr(addr)] });
  const { connection } = await A.node.paths.connect(peer, AbortSignal.timeout(10_000));
  assert.deepEqual(await A.node.storage(peer).list(randomBytes(16)), []);
  child.kill('SIGSTOP');
  const t0 = Date.now();
  // Silent for an interval (at most 1.5 to be noticed), then 2 s of an unanswered ping.
  for (let i = 0; i < 150 && connection.status === 'open'; i++) await sleep(100);
  assert.notEqual(connection.status, 'open', 'the connection to the frozen peer was aborted');
  assert.ok(Date.now() - t0 < 10_000, `aborted after ${Date.now() - t0} ms`);
  assert.ok(A.node.keepAlive.stats.aborted >= 1, 'by the keep-alive');
  assert.ok(A.node.keepAlive.stats.pings >= 1);
});
