// The transport floor of the backup bench: how long the peer network alone takes to move the bytes a
// backup and a restore must move, with nothing else running.
//
// A client node and N storage nodes, one process each, built by the product's own createNode (TCP + Noise
// + Yamux on loopback, the same services), like the bench's swarm. "push" sends ceil(bytes / k) to each of
// the N nodes (a k-of-N backup's share bytes, without hash trees), "pull" fetches ceil(bytes / k) from each
// of k nodes (a restore's). The receiving side counts and drops what it gets: no disk, no encryption of our
// own, no erasure coding, no hashing, no files. So a real backup or restore of the same bytes cannot be
// faster than these rows on the same machine, and the CPU column says how much of the cores the transport
// alone uses.
//
// One change from the product's transport makes the floor lower still: a receiver here sends a yamux window
// update once half of its window is used (as Go's yamux does), not after every data frame as
// @chainsafe/libp2p-yamux 8 does when a stream is never paused. Without it the floor's receivers, which never
// pause, answer each 64 KiB frame with an update and the push row costs about a third more. (The product's
// receivers pause their streams while they write, so they send few updates anyway: the same change measured
// no difference on real backups and restores, and the product keeps the library's behaviour.)
//
//   node bench/floor-transport.ts --client BYTES [--peers 5] [--k 3]   prints one JSON line
//   --serve [--listen MA] [--dial MA] and --client-across --listen MA: the same across network namespaces, the
//   processes started by bench/transfer-paths.ts (a peer behind NAT dials the client; see clientAcross)
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr';
import { peerIdFromString } from '@libp2p/peer-id';
import type { PeerId, Stream } from '@libp2p/interface';
import { YamuxStream, StreamState } from '@chainsafe/libp2p-yamux/stream';
import { createNode, type P2PNode } from '../src/net/index.ts';
import { usage } from './transfer.ts';
import { runJsonChild } from './common.ts';

const PROTOCOL = '/p2pbackup/bench-floor/1.0.0';
const CHUNK = 256 * 1024;
/** Concurrent streams per peer: shares of several files are in flight at once in a real backup. */
export const STREAMS_PER_PEER = 4;

export interface FloorPhase {
  seconds: number;
  cpuSeconds: number;
  /** The client process's part of cpuSeconds (the rest is the peers'). */
  clientCpuSeconds: number;
  bytes: number;
}
export interface FloorResult {
  push: FloorPhase;
  pull: FloorPhase;
}

/** In this process only: window updates at half a window (see the top of this file). */
function halfWindowUpdates(): void {
  type Fields = { state: StreamState; recvWindow: number; recvWindowCapacity: number };
  const proto = YamuxStream.prototype as unknown as { sendWindowUpdate(this: Fields): void };
  const original = proto.sendWindowUpdate;
  proto.sendWindowUpdate = function (this: Fields): void {
    if (this.state === StreamState.Established && this.recvWindow - this.recvWindowCapacity < this.recvWindow / 2) return;
    original.call(this);
  };
}

/** Where others dial this node: what it announces, else (a public address not yet confirmed by dial-back, which
 *  is not announced) the fixed address it was told to listen on. */
function addressOf(node: P2PNode, listen: string): string {
  return node.multiaddrs()[0]?.toString() ?? `${listen}/p2p/${node.peerId.toString()}`;
}

async function serve(listen = '/ip4/127.0.0.1/tcp/0', dial?: string): Promise<void> {
  halfWindowUpdates();
  const node = await createNode({ listen: [listen], mdns: false });
  await node.libp2p.handle(
    PROTOCOL,
    (stream) => {
      let n = 0;
      let want: number | null = null;
      stream.addEventListener('message', (evt) => {
        if (want === null && n === 0 && evt.data.byteLength === 9 && evt.data.subarray(0, 1)[0] === 0x50) {
          // 'P': pull request
          want = Number(Buffer.from(evt.data.subarray(1)).readBigUInt64BE(0));
          const buf = new Uint8Array(CHUNK).fill(0x5a);
          void (async () => {
            for (let sent = 0; sent < want!;) {
              const piece = buf.subarray(0, Math.min(CHUNK, want! - sent));
              sent += piece.byteLength;
              if (!stream.send(piece)) await stream.onDrain();
            }
            await stream.close();
          })().catch((e) => stream.abort(e));
          return;
        }
        n += evt.data.byteLength;
      });
      stream.addEventListener(
        'remoteCloseWrite',
        () => {
          if (want !== null) return;
          const out = Buffer.alloc(8);
          out.writeBigUInt64BE(BigInt(n));
          stream.send(out);
          stream.close().catch(() => {});
        },
        { once: true }
      );
    },
    { maxInboundStreams: 64 }
  );
  // A node behind NAT (the paths bench) opens the connection itself; the client's streams then come over it.
  if (dial) await node.libp2p.dial(multiaddr(dial));
  process.stdout.write(JSON.stringify({ addr: addressOf(node, listen), peerId: node.peerId.toString() }) + '\n');
  process.stdin.resume();
  process.stdin.on('end', () => {
    node.stop().finally(() => process.exit(0));
  });
}

async function client(bytes: number, peers: number, k: number): Promise<FloorResult> {
  halfWindowUpdates();
  const kids = Array.from({ length: peers }, () =>
    spawn(process.execPath, [fileURLToPath(import.meta.url), '--serve'], { stdio: ['pipe', 'pipe', 'inherit'] })
  );
  const node = await createNode({ listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false });
  try {
    const addrs = await Promise.all(
      kids.map(
        (c) =>
          new Promise<string>((resolve, reject) => {
            createInterface({ input: c.stdout! }).once('line', (l) => resolve(JSON.parse(l).addr));
            c.once('exit', (code) => reject(new Error(`floor peer exited with ${code}`)));
          })
      )
    );
    for (const a of addrs) await node.libp2p.dial(multiaddr(a));
    return await pushPull(
      node,
      addrs.map((a) => multiaddr(a)),
      bytes,
      k,
      kids.map((c) => c.pid!)
    );
  } finally {
    await node.stop();
    for (const c of kids) c.stdin!.end();
    await Promise.all(kids.map((c) => (c.exitCode !== null ? null : new Promise((r) => c.once('exit', r)))));
  }
}

/**
 * The client side across network namespaces (bench/transfer-paths.ts): listen on `listen`, print it, then read
 * one JSON line {bytes, k, targets: [{peerId, addr?}], pids}: a target with an address is dialled (direct); one
 * without must have connected to us (a peer behind NAT, reached over its own connection). One JSON line back.
 */
async function clientAcross(listen: string): Promise<void> {
  halfWindowUpdates();
  const node = await createNode({ listen: [listen], mdns: false });
  process.stdout.write(JSON.stringify({ addr: addressOf(node, listen) }) + '\n');
  const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
  const job = JSON.parse((await lines.next()).value as string) as { bytes: number; k: number; targets: { peerId: string; addr?: string }[]; pids: number[] };
  const targets: PeerId[] = [];
  for (const t of job.targets) {
    const id = peerIdFromString(t.peerId);
    if (t.addr) await node.libp2p.dial(multiaddr(t.addr));
    for (let i = 0; node.libp2p.getConnections(id).length === 0; i++) {
      if (i >= 100) throw new Error(`floor: no connection from ${t.peerId} within 10 s`);
      await sleep(100);
    }
    targets.push(id);
  }
  const r = await pushPull(node, targets, job.bytes, job.k, job.pids);
  process.stdout.write(JSON.stringify(r) + '\n');
  await node.stop();
}

/**
 * A stream to `target`, tried up to 3 times: a stream whose protocol negotiation meets its connection's close
 * (libp2p closes one of two connections that a pair opened to each other) fails with the close event itself
 * (a StreamCloseEvent, not an Error: @libp2p/utils' byteStream rejects with it), and the floor measures
 * throughput, not that race: the next try takes the connection that stays.
 */
async function openStream(node: P2PNode, target: Multiaddr | PeerId): Promise<Stream> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await node.libp2p.dialProtocol(target, PROTOCOL);
    } catch (e) {
      if (attempt >= 3) throw e instanceof Error ? e : new Error(`floor: could not open a stream to ${target.toString()}: ${String((e as Event)?.type ?? e)}`);
      await sleep(100);
    }
  }
}

/** Push to every target, then pull from the first k, STREAMS_PER_PEER streams each; CPU of this process and `pids`. */
async function pushPull(node: P2PNode, targets: (Multiaddr | PeerId)[], bytes: number, k: number, peerPids: number[]): Promise<FloorResult> {
  const pids = [process.pid, ...peerPids];
  const perPeer = Math.ceil(bytes / k);
  const perStream = Math.ceil(perPeer / STREAMS_PER_PEER);
  const timed = async (fn: () => Promise<number>): Promise<FloorPhase> => {
    const cpu = async () => (await Promise.all(pids.map(usage))).map((u) => u.cpuSeconds);
    const c0 = await cpu();
    const t0 = performance.now();
    const moved = await fn();
    const seconds = (performance.now() - t0) / 1000;
    const c1 = await cpu();
    const cpuSeconds = c1.reduce((s, v, i) => s + v - c0[i], 0);
    return { seconds, cpuSeconds, clientCpuSeconds: c1[0] - c0[0], bytes: moved };
  };
  const eachStream = (to: (Multiaddr | PeerId)[], fn: (a: Multiaddr | PeerId) => Promise<number>) =>
    Promise.all(to.flatMap((a) => Array.from({ length: STREAMS_PER_PEER }, () => fn(a)))).then((ns) => ns.reduce((s, n) => s + n, 0));

  const push = await timed(() =>
    eachStream(targets, async (a) => {
      const stream = await openStream(node, a);
      const answer = new Promise<number>((resolve) =>
        stream.addEventListener('message', (e) => resolve(Number(Buffer.from(e.data.subarray()).readBigUInt64BE(0))), { once: true })
      );
      const buf = new Uint8Array(CHUNK).fill(0xa5);
      for (let sent = 0; sent < perStream;) {
        const piece = buf.subarray(0, Math.min(CHUNK, perStream - sent));
        sent += piece.byteLength;
        if (!stream.send(piece)) await stream.onDrain();
      }
      await stream.close();
      const got = await answer;
      if (got !== perStream) throw new Error(`floor: a peer counted ${got} bytes of ${perStream}`);
      return got;
    })
  );
  const pull = await timed(() =>
    eachStream(targets.slice(0, k), async (a) => {
      const stream = await openStream(node, a);
      let got = 0;
      const done = new Promise<void>((resolve, reject) => {
        stream.addEventListener('message', (e) => {
          got += e.data.byteLength;
        });
        stream.addEventListener('remoteCloseWrite', () => resolve(), { once: true });
        stream.addEventListener('close', (e) => {
          if ((e as Event & { error?: Error }).error) reject((e as Event & { error?: Error }).error);
        });
      });
      const req = Buffer.alloc(9);
      req[0] = 0x50;
      req.writeBigUInt64BE(BigInt(perStream), 1);
      stream.send(req);
      await done;
      await stream.close();
      if (got !== perStream) throw new Error(`floor: pulled ${got} bytes of ${perStream}`);
      return got;
    })
  );
  return { push, pull };
}

/** Run the floor in its own processes (the caller's CPU is not counted); `bytes` = the dataset's bytes. */
export function measureTransportFloor(bytes: number, peers: number, k: number): Promise<FloorResult> {
  return runJsonChild<FloorResult>(fileURLToPath(import.meta.url), ['--client', String(bytes), '--peers', String(peers), '--k', String(k)], 'transport floor');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const argv = process.argv.slice(2);
  const opt = (name: string, d: number) => {
    const i = argv.indexOf(name);
    return i >= 0 ? Number(argv[i + 1]) : d;
  };
  const str = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  if (argv[0] === '--serve') await serve(str('--listen'), str('--dial'));
  else if (argv[0] === '--client-across') {
    const listen = str('--listen');
    if (!listen) throw new Error('--client-across needs --listen MULTIADDR');
    await clientAcross(listen);
    process.exit(0);
  } else if (argv[0] === '--client') {
    const r = await client(Number(argv[1]), opt('--peers', 5), opt('--k', 3));
    process.stdout.write(JSON.stringify(r) + '\n');
    process.exit(0);
  } else {
    process.stderr.write('usage: node bench/floor-transport.ts --client BYTES [--peers 5] [--k 3]\n');
    process.exit(2);
  }
}
