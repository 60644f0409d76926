// Paths to a peer (src/net/paths.ts), reachability (dial-back, kept connections, reservations) and the relay
// that carries storage traffic (src/net/relay.ts), with real libp2p nodes on loopback in one process. A node
// with no listen address cannot be dialled at all: what a peer behind a NAT is to the others (the netns
// tests in test/multihost/nat.test.ts do the same through real nftables NAT routers).
//   R  relay server + storage     P  storage, dialable     A  client, dialable
//   X  storage, cannot be dialled  Y  client, cannot be dialled
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLibp2p } from 'libp2p';
import { tcp } from '@libp2p/tcp';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { identify } from '@libp2p/identify';
import { multiaddr } from '@multiformats/multiaddr';
import { byteStream } from '@libp2p/utils';
import { makePeer, removeHome, testPack, type TestPeer } from './helpers.ts';
import {
  classify,
  dialbackTargets,
  requestDialback,
  serveDialback,
  tcpAddr,
  parseHopStatus,
  DialbackRefusedError,
  PeerUnreachableError
} from '../../src/net/index.ts';
import { RELAY_HOP_PROTOCOL } from '../../src/net/constants.ts';
import type { NodeInit } from '../../src/net/index.ts';

const PING_PROTOCOL = '/ipfs/ping/1.0.0';
const FAST = { firstCheckMs: 100, retryMs: 300, keepIntervalMs: 300 };
const until = async (what: string, fn: () => boolean | Promise<boolean>, ms = 15_000) => {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await fn()) return;
    await sleep(50);
  }
  assert.fail(`timed out waiting for ${what}`);
};
/** `who` is connected to `relay` and has identified it as a relay (what paths needs to try it). */
const knowsRelay = (who: TestPeer, relay: TestPeer) =>
  until(`${who.node.peerId} identified ${relay.node.peerId} as a relay`, async () => {
    if (who.node.libp2p.getConnections(relay.node.peerId).length === 0) return false;
    const p = await who.node.libp2p.peerStore.get(relay.node.peerId).catch(() => null);
    return p?.protocols.includes(RELAY_HOP_PROTOCOL) ?? false;
  });

describe('paths: direct, own connection, relay', () => {
  let R: TestPeer, P: TestPeer, A: TestPeer, X: TestPeer, Y: TestPeer;
  const addr = (p: TestPeer) => p.node.multiaddrs()[0].toString();
  before(async () => {
    R = await makePeer({ relay: { server: true }, reachability: FAST });
    P = await makePeer({ bootstrap: [addr(R)], reachability: FAST });
    A = await makePeer({ bootstrap: [addr(R)], reachability: FAST });
    const natted: Partial<NodeInit> = { listen: [], bootstrap: [addr(R), addr(P), addr(A)], reachability: FAST };
    X = await makePeer(natted);
    Y = await makePeer({ ...natted, bootstrap: [addr(R)], store: undefined });
  });
  after(async () => {
    for (const p of [Y, X, A, P, R]) {
      await p?.stop().catch(() => {});
      if (p) await removeHome(p);
    }
  });

  test('a peer with no address of its own is known not dialable, keeps its connections and a relay reservation', async () => {
    await until('X checked and reserved on R', () => {
      const r = X.node.reachability!.report();
      return r.dialable === false && r.relays.some((x) => x.peer === R.node.peerId.toString()) && r.ownConnections.kept >= 3;
    });
    const rep = X.node.reachability!.report();
    assert.equal(rep.dialable, false);
    assert.deepEqual(rep.confirmed, []);
    assert.ok(rep.ways.includes('relay') && rep.ways.includes('own-connections'), rep.summary);
    assert.ok(rep.ownConnections.kept >= 3, `kept ${rep.ownConnections.kept}: R, P and A`);
    assert.match(rep.summary, /own connections .*relay/);
    // The kept connections are X's own, outbound: to A they look inbound.
    assert.ok(A.node.libp2p.getConnections(X.node.peerId).some((c) => c.direction === 'inbound'));
  });

  test('a dialable peer is confirmed by dial-back and keeps no connections on purpose', async () => {
    // Reserved at first (until something is known), dropped once dialled back.
    await until('P checked', () => P.node.reachability!.report().dialable !== null && P.node.reachability!.report().relays.length === 0);
    const rep = P.node.reachability!.report();
    assert.equal(rep.dialable, true, rep.summary);
    assert.deepEqual(rep.ways, ['public']);
    assert.equal(rep.ownConnections.target, 0);
    assert.equal(rep.relays.length, 0, 'no reservation while dialable (relay client auto)');
    const c = rep.confirmed[0];
    assert.equal(c.address, `/ip4/127.0.0.1/tcp/${tcpAddr(addr(P))!.port}`);
    assert.ok(c.by.length >= 1);
  });

  test('A stores on X over the connection X opened: path own-connection, A the owner', async () => {
    await until('A knows X cannot be dialled (identify)', () => A.node.paths.current(X.node.peerId.toString())?.kind === 'own-connection');
    const { si, ueb, shares } = testPack(300_000);
    const data = shares[1];
    const r = await A.node.storage(X.node.peerId).writeShare(si, 1, data, data.length, { ueb });
    assert.equal(r.status, 'written');
    assert.equal(A.node.paths.last(X.node.peerId.toString())?.kind, 'own-connection');
    assert.equal((await X.store.get(si, 1))?.owner, A.node.peerId.toString());
    const [back] = await A.node.storage(X.node.peerId).read(si, 1, [[0, data.length]]);
    assert.ok(Buffer.from(back).equals(data));
  });

  test('A stores on P directly', async () => {
    const {
      si,
      ueb,
      shares: [share]
    } = testPack(1000);
    await A.node.storage(P.node.peerId).writeShare(si, 0, share, share.length, { ueb });
    assert.equal(A.node.paths.last(P.node.peerId.toString())?.kind, 'direct');
  });

  test('Y, also undialable, stores on X through the relay; X knows Y as the owner (end-to-end Noise)', async () => {
    await knowsRelay(Y, R);
    assert.equal(Y.node.libp2p.getConnections(X.node.peerId).length, 0, 'no connection between the two before');
    const { si, ueb, shares } = testPack(5 * 2 ** 20 + 7, 3); // above libp2p's default relay limits (128 KiB, or 1 MiB as configured before)
    const data = shares[2];
    const r = await Y.node.storage(X.node.peerId).writeShare(si, 2, data, data.length, { ueb });
    assert.equal(r.status, 'written');
    const path = Y.node.paths.last(X.node.peerId.toString());
    assert.equal(path?.kind, 'relay');
    assert.equal(path?.relay, R.node.peerId.toString());
    assert.equal((await X.store.get(si, 2))?.owner, Y.node.peerId.toString());
    const [back] = await Y.node.storage(X.node.peerId).read(si, 2, [[0, data.length]]);
    assert.ok(Buffer.from(back).equals(data));
    const st = R.node.relay!.stats();
    assert.ok(st.bytesRelayed >= 2 * data.length, `relayed ${st.bytesRelayed} bytes`);
    assert.ok(st.members.some((m) => m.peer === Y.node.peerId.toString() && m.bytes >= data.length));
    assert.equal(st.throttled, 0, 'no rate set: never paused');
  });

  test("once X opens a connection of its own to Y's peer A, A prefers it to a relay", async () => {
    // A reaches X through R first (X's own connection to A closed), then X reconnects: A takes X's connection.
    await A.node.libp2p.hangUp(X.node.peerId);
    await until('A and X disconnected', () => A.node.libp2p.getConnections(X.node.peerId).length === 0);
    X.node.reachability!.stop(); // no redial by X for the moment
    const {
      si,
      ueb,
      shares: [share]
    } = testPack(1000);
    await A.node.storage(X.node.peerId).writeShare(si, 0, share, share.length, { ueb });
    assert.equal(A.node.paths.last(X.node.peerId.toString())?.kind, 'relay', 'no direct way to X: the relay');
    await X.node.libp2p.dial(multiaddr(addr(A)));
    await until("A sees X's own connection", () => A.node.paths.current(X.node.peerId.toString())?.kind === 'own-connection');
    await A.node.storage(X.node.peerId).list(si);
    assert.equal(A.node.paths.last(X.node.peerId.toString())?.kind, 'own-connection');
    X.node.reachability!.start();
  });

  test('a dialable peer that dialled us is reached directly, not "over its own connection"', async () => {
    const Q = await makePeer({ reachability: FAST });
    try {
      await Q.node.libp2p.dial(multiaddr(addr(A)));
      await until('Q checked (dialable)', () => Q.node.reachability!.report().dialable === true);
      await A.node.storage(Q.node.peerId).list(randomBytes(16));
      assert.ok(A.node.libp2p.getConnections(Q.node.peerId).some((c) => c.direction === 'inbound'));
      assert.equal(A.node.paths.last(Q.node.peerId.toString())?.kind, 'direct');
    } finally {
      await Q.stop();
      await removeHome(Q);
    }
  });

  test('classify: a relayed address names its relay; inbound is own-connection only for a peer that says it cannot be dialled', () => {
    const inbound = { remoteAddr: multiaddr('/ip4/198.51.100.7/tcp/40123'), direction: 'inbound' as const };
    assert.deepEqual(classify(inbound), { kind: 'direct', relay: null, remoteAddr: '/ip4/198.51.100.7/tcp/40123' });
    assert.equal(classify(inbound, true).kind, 'own-connection');
    assert.equal(classify({ ...inbound, direction: 'outbound' }, true).kind, 'direct');
    const r = 'QmNnooDu7bfjPFoTZYxMNLWUQJyrVwtbZg5gBMjTezGAJN';
    assert.deepEqual(
      classify({ remoteAddr: multiaddr(`/ip4/1.2.3.4/tcp/1/p2p/${r}/p2p-circuit/p2p/QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N`), direction: 'outbound' })
        .relay,
      r
    );
  });

  test('a peer reachable by no path fails with PeerUnreachableError', async () => {
    const Z = await makePeer({ listen: [], reachability: false });
    try {
      await assert.rejects(A.node.storage(Z.node.peerId).list(randomBytes(16)), PeerUnreachableError);
    } finally {
      await Z.stop();
      await removeHome(Z);
    }
  });
});

describe('a peer that went away and came back', () => {
  test('is dialled again at once when no relay could reach it instead, at the same address or a new one', async () => {
    const A = await makePeer({ reachability: false });
    let B = await makePeer({ reachability: false });
    try {
      const port = Number(B.node.multiaddrs()[0].toString().split('/')[4]);
      const b = B.node.peerId;
      await A.node.libp2p.peerStore.merge(b, { multiaddrs: B.node.multiaddrs() });
      assert.equal((await A.node.paths.connect(b, AbortSignal.timeout(10_000))).path.kind, 'direct');
      await B.stop();
      await until('A sees B gone', () => A.node.libp2p.getConnections(b).length === 0);
      await assert.rejects(A.node.storage(b).list(randomBytes(16)), PeerUnreachableError);
      assert.ok(A.node.paths.directFailed(b.toString()), 'the failed direct dial is remembered');
      // Back on the same port (a daemon restarted with a fixed listen address): the only path is direct.
      B = await B.restart({ listen: [`/ip4/127.0.0.1/tcp/${port}`] });
      assert.deepEqual(await A.node.storage(b).list(randomBytes(16)), []);
      await A.node.libp2p.hangUp(b);
      await B.stop();
      await assert.rejects(A.node.storage(b).list(randomBytes(16)), PeerUnreachableError);
      // Back on another port, which A learns (as from a DHT walk): new addresses are dialled at once.
      B = await B.restart({ listen: ['/ip4/127.0.0.1/tcp/0'] });
      await A.node.libp2p.peerStore.merge(b, { multiaddrs: B.node.multiaddrs() });
      assert.deepEqual(await A.node.storage(b).list(randomBytes(16)), []);
    } finally {
      await A.stop();
      await B.stop().catch(() => {});
      await removeHome(A);
      await removeHome(B);
    }
  });
});

describe('relay budget and rate', () => {
  let R: TestPeer, X: TestPeer, Y: TestPeer;
  before(async () => {
    R = await makePeer({ relay: { server: { dailyBytes: 2 * 2 ** 20, rate: 1e6 } }, reachability: FAST });
    const natted: Partial<NodeInit> = { listen: [], bootstrap: [R.node.multiaddrs()[0].toString()], reachability: FAST };
    X = await makePeer(natted);
    Y = await makePeer({ ...natted, store: undefined });
    await until('X reserved on R', () => X.node.reachability!.report().relays.length > 0);
    // Y's first write goes through R only if Y has identified R by then (else: "no relay known").
    await knowsRelay(Y, R);
  });
  after(async () => {
    for (const p of [Y, X, R]) {
      await p?.stop().catch(() => {});
      if (p) await removeHome(p);
    }
  });

  test('the rate pauses streams; past its daily bytes a member is cut off and refused', async () => {
    const sp = testPack(1024 * 1024, 1);
    const small = sp.shares[0];
    await Y.node.storage(X.node.peerId).writeShare(sp.si, 0, small, small.length, { ueb: sp.ueb });
    assert.ok(R.node.relay!.stats().throttled > 0, 'a 1 MiB share at 1 MB/s with a 256 KiB bucket was paused at least once');
    const bp = testPack(3 * 1024 * 1024, 2);
    const big = bp.shares[1];
    await assert.rejects(Y.node.storage(X.node.peerId).writeShare(bp.si, 1, big, big.length, { ueb: bp.ueb }));
    const st = R.node.relay!.stats();
    assert.ok(st.overBudget >= 1, 'the circuit was cut for the budget');
    // A new circuit is refused outright by the relay (and no share arrived).
    await until('circuit gone', () => Y.node.libp2p.getConnections(X.node.peerId).length === 0);
    await assert.rejects(Y.node.storage(X.node.peerId).list(randomBytes(16)), PeerUnreachableError);
    assert.equal((await X.store.list(randomBytes(16))).length, 0);
  });
});

describe('dial-back protocol', () => {
  test('the server dials only the address it sees the request come from, with the ports asked', () => {
    const observed = tcpAddr('/ip4/198.51.100.7/tcp/40123')!;
    const t = dialbackTargets(observed, [
      '/ip4/192.168.1.2/tcp/7171',
      '/ip4/10.0.0.9/tcp/7172',
      '/ip6/::1/tcp/7171',
      '/dns4/x.example/tcp/1',
      '/ip4/192.168.1.2/tcp/7171'
    ]);
    assert.deepEqual(t, [
      { family: 4, ip: '198.51.100.7', port: 7171 },
      { family: 4, ip: '198.51.100.7', port: 7172 }
    ]);
    assert.equal(
      dialbackTargets(
        observed,
        Array.from({ length: 16 }, (_, i) => `/ip4/1.2.3.4/tcp/${1000 + i}`)
      ).length,
      4,
      'at most 4 dials'
    );
  });

  test('a firewalled peer is not confirmed; an open one is; a second request within the interval is refused', async () => {
    const mk = (gater = {}) =>
      createLibp2p({
        addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
        transports: [tcp()],
        connectionEncrypters: [noise()],
        streamMuxers: [yamux()],
        services: { identify: identify() },
        connectionGater: gater
      });
    const server = await mk();
    const open = await mk();
    const walled = await mk({ denyInboundConnection: () => true }); // accepts TCP, refuses the libp2p connection
    const stop = await serveDialback(server);
    try {
      const ask = async (n: typeof open) => {
        const conn = await n.dial(server.getMultiaddrs()[0]);
        return requestDialback(conn, n.getMultiaddrs().map(String), AbortSignal.timeout(15_000));
      };
      const port = (n: typeof open) => multiaddr(n.getMultiaddrs()[0]).getComponents()[1].value;
      assert.deepEqual(await ask(open), [{ addr: `/ip4/127.0.0.1/tcp/${port(open)}`, ok: true }]);
      assert.deepEqual(await ask(walled), [{ addr: `/ip4/127.0.0.1/tcp/${port(walled)}`, ok: false }]);
      await assert.rejects(ask(open), (e: unknown) => e instanceof DialbackRefusedError && (e.details as { reason: string }).reason === 'busy');
    } finally {
      await stop();
      await Promise.all([server.stop(), open.stop(), walled.stop()]);
    }
  });

  test('the relay reservation answer is parsed by the spec (status field 5, expire in field 3.1)', () => {
    // HopMessage { type: STATUS(2), reservation: { expire: 1700000000 }, status: OK(100) }
    const expire = [0x80, 0xe2, 0xcf, 0xaa, 0x06]; // 1700000000 as a varint
    const msg = Uint8Array.from([0x08, 0x02, 0x1a, 1 + expire.length, 0x08, ...expire, 0x28, 0x64]);
    assert.deepEqual(parseHopStatus(msg), { status: 100, expire: 1_700_000_000 });
    assert.throws(() => parseHopStatus(Uint8Array.from([0x1a, 0x05, 0x08])), /truncated/);
  });
});

describe('keep-alive', () => {
  test("the muxer measures its round trip (Yamux's ping): without it no stream window grows past 256 KiB", async () => {
    const A = await makePeer({ reachability: false });
    const B = await makePeer({ reachability: false });
    try {
      const b = B.node.peerId;
      await A.node.libp2p.peerStore.merge(b, { multiaddrs: B.node.multiaddrs() });
      const { connection } = await A.node.paths.connect(b, AbortSignal.timeout(10_000));
      for (let i = 0; i < 100 && !B.node.libp2p.getConnections(A.node.peerId).length; i++) await sleep(100);
      const muxers = [connection, ...B.node.libp2p.getConnections(A.node.peerId)].map((c) => (c as unknown as { muxer: { rtt: number } }).muxer);
      assert.equal(muxers.length, 2);
      // Yamux grows a window only with a known round trip (rtt > -1); its keep-alive pings at once, then every 30 s.
      for (let i = 0; i < 100 && muxers.some((m) => m.rtt === -1); i++) await sleep(100);
      for (const m of muxers) assert.ok(m.rtt > -1, `the muxer knows its round trip (rtt ${m.rtt})`);
    } finally {
      await A.stop();
      await B.stop();
      await removeHome(A);
      await removeHome(B);
    }
  });
});

describe('keep-alive on a full uplink', () => {
  test('pings that wait longer than the ping interval do not cut the connection (each gets its own stream)', async () => {
    const keepAlive = { intervalMs: 200, timeoutMs: 5_000 };
    const A = await makePeer({ reachability: false, keepAlive });
    const B = await makePeer({ reachability: false, keepAlive });
    try {
      // B answers pings a second late, as a peer does whose answers queue behind seconds of share bytes.
      await B.node.libp2p.unhandle(PING_PROTOCOL);
      await B.node.libp2p.handle(
        PING_PROTOCOL,
        async (stream) => {
          const bytes = await byteStream(stream).read({ bytes: 32 });
          await sleep(1_000);
          stream.send(bytes.subarray());
          await stream.close().catch(() => {});
        },
        { maxInboundStreams: 64 }
      );
      const b = B.node.peerId;
      await A.node.libp2p.peerStore.merge(b, { multiaddrs: B.node.multiaddrs() });
      const { connection } = await A.node.paths.connect(b, AbortSignal.timeout(10_000));
      await sleep(3_000); // about 15 pings due, 5 of them open at any time
      assert.equal(connection.status, 'open', 'the connection the pings kept waiting on is still open');
      assert.deepEqual(await A.node.storage(b).list(randomBytes(16)), []);
    } finally {
      await A.stop();
      await B.stop();
      await removeHome(A);
      await removeHome(B);
    }
  });
});
