// The adversarial peer (issue 17): a real p2pbackup peer process (the same libp2p node, the same storage
// protocol, a real DiskStore) whose misbehaviour is switched by options, for tests only. It lives here, under
// test/, and wraps the real server (`answerRequest` answers whatever it is not told to misbehave on), so no
// misbehaviour ships in the daemon and no production config can turn one on.
//
// Started by spawnAdversary() (./index.ts) with an IPC channel: argv[2] is the JSON of AdversaryInit; the
// parent sends { id, op, ... } messages (set, attack, stats, stop) and gets { id, result } or { id, error }.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Connection, Stream } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { multiaddr } from '@multiformats/multiaddr';
import { DiskStore } from '../../src/store/index.ts';
import { createNode, loadOrCreatePeerKey, encodeFrame, FrameReader, MSG, STORAGE_PROTOCOL, type P2PNode } from '../../src/net/index.ts';
import { answerRequest, OPS, serverContext } from '../../src/net/server.ts';
import { createMutableWriteCap, signRecord, storageIndexOf } from '../../src/caps/index.ts';
import { encodePack, uebOfShare } from '../../src/format/index.ts';
import type { Frame } from '../../src/net/index.ts';
import type { AdversaryInit, Attack, Behaviour, AdversaryStats } from './types.ts';

const init = JSON.parse(process.argv[2]) as AdversaryInit;
let behaviour: Behaviour = init.behaviour ?? {};
const stats: AdversaryStats = { requests: {}, answered: {}, abandoned: {}, claimed: 0 };
/** Shares it claimed to hold ("exists" without storing), per storage index: what its lying LIST shows. */
const claimed = new Map<string, Map<number, number>>();
const bump = (m: Record<string, number>, k: string) => {
  m[k] = (m[k] ?? 0) + 1;
};

await mkdir(init.home, { recursive: true });
const store = await DiskStore.open(join(init.home, 'store'), { offer: '1GiB' });
const node: P2PNode = await createNode({
  privateKey: await loadOrCreatePeerKey(join(init.home, 'peer.key')),
  listen: ['/ip4/127.0.0.1/tcp/0'],
  mdns: false,
  bootstrap: init.bootstrap ?? []
});
const ctx = serverContext(store);
const closing = new AbortController();

await node.libp2p.handle(
  STORAGE_PROTOCOL,
  (stream: Stream, connection: Connection) => {
    void serve(stream, connection.remotePeer.toString()).catch(() => {});
  },
  { maxInboundStreams: 1024 }
);

async function serve(stream: Stream, peer: string): Promise<void> {
  const reader = new FrameReader(stream, { idleMs: 30_000 });
  let req: Frame | null;
  try {
    req = await reader.next();
  } catch {
    reader.release();
    return;
  }
  if (!req) {
    reader.release();
    return;
  }
  const op = OPS[req.type] ?? 'unknown';
  bump(stats.requests, op);
  const b = behaviour;
  const h = req.header as Record<string, any>;
  try {
    if (b.silent?.includes(op) || b.silent?.includes('*')) {
      // Never answer: hold the stream until the peer gives up (or this process stops).
      await new Promise<void>((resolve) => {
        stream.addEventListener('close', () => resolve(), { once: true });
        closing.signal.addEventListener('abort', () => resolve(), { once: true });
      });
      bump(stats.abandoned, op);
      return;
    }
    if (op === 'write' && b.existsWithoutStoring) {
      const m = claimed.get(h.si) ?? new Map<number, number>();
      m.set(h.shareNum, h.size);
      claimed.set(h.si, m);
      stats.claimed++;
      await answer(stream, op, MSG.ERROR, { code: 'ERR_SHARE_REFUSED', reason: 'exists', message: `already have share ${h.shareNum} of ${h.si} from you` });
      return;
    }
    if (op === 'list' && b.listLies) {
      const mine = new Map((await store.list(Buffer.from(h.si, 'hex'))).map((x) => [x.shareNum, x.size]));
      for (const [n, size] of claimed.get(h.si) ?? []) mine.set(n, size);
      await answer(stream, op, MSG.OK, { shares: [...mine].map(([shareNum, size]) => ({ shareNum, size })) });
      return;
    }
    if (op === 'read' && b.forge) {
      const lengths = (h.ranges as [number, number][]).map(([, len]) => len);
      const total = lengths.reduce((a, x) => a + x, 0);
      await answer(stream, op, MSG.OK, { lengths }, b.forge === 'zero' ? new Uint8Array(total) : randomBytes(total));
      return;
    }
    if (op === 'audit' && b.forge) {
      // No proof can be forged without the block: answer with made-up bytes and hashes of the right shapes.
      const x = () => randomBytes(32).toString('hex');
      await answer(stream, op, MSG.OK, { leaf: x(), path: [x(), x()], proof: x() }, b.forge === 'zero' ? new Uint8Array(4096) : randomBytes(4096));
      return;
    }
    if (b.trickle && (b.trickle.ops.includes(op) || b.trickle.ops.includes('*'))) trickle(stream, op, b.trickle);
    else countWhenClosed(stream, op);
    await answerRequest(ctx, stream, reader, req, peer);
  } finally {
    reader.release();
  }
}

/** Send one frame and close, counting it answered once it went out. */
async function answer(stream: Stream, op: string, type: number, header: Record<string, unknown>, payload?: Uint8Array): Promise<void> {
  stream.send(encodeFrame(type, header, payload));
  await stream.close({ signal: AbortSignal.timeout(10_000) }).catch(() => stream.abort(new Error('closed')));
  bump(stats.answered, op);
}

function countWhenClosed(stream: Stream, op: string): void {
  const close = stream.close.bind(stream);
  stream.close = async (o) => {
    await close(o);
    bump(stats.answered, op);
  };
}

/**
 * Everything the honest server sends on this stream goes out `bytes` at a time, one piece every `everyMs`: each
 * piece resets the peer's idle timer, so only a deadline on the whole answer stops waiting for it.
 */
function trickle(stream: Stream, op: string, t: NonNullable<Behaviour['trickle']>): void {
  const queue: Uint8Array[] = [];
  const send = stream.send.bind(stream);
  const close = stream.close.bind(stream);
  let pumping: Promise<boolean> | null = null;
  const pump = async (): Promise<boolean> => {
    while (queue.length) {
      if (stream.status !== 'open' || stream.writeStatus !== 'writable' || closing.signal.aborted) return false;
      const head = queue[0];
      const piece = head.subarray(0, t.bytes);
      if (piece.byteLength === head.byteLength) queue.shift();
      else queue[0] = head.subarray(t.bytes);
      send(Uint8Array.from(piece));
      await sleep(t.everyMs);
    }
    return true;
  };
  stream.send = (data) => {
    const bytes = data instanceof Uint8Array ? data : data.subarray();
    queue.push(Uint8Array.from(bytes));
    pumping ??= pump().finally(() => {
      pumping = null;
    });
    return true;
  };
  stream.close = async (o) => {
    const done = await (pumping ?? Promise.resolve(true));
    if (!done) {
      bump(stats.abandoned, op);
      return;
    }
    await close(o);
    bump(stats.answered, op);
  };
}

// ---- attacks: the adversary as a client of other peers ----------------------------------------------------

const target = (t: string) => (t.startsWith('/') ? multiaddr(t) : peerIdFromString(t));

async function attack(a: Attack): Promise<unknown> {
  switch (a.kind) {
    case 'fill-slots': {
      // Fresh slot keys cost nothing: put records until refused, asking for 400-day leases.
      const client = node.storage(target(a.target));
      const out = { stored: 0, refusals: {} as Record<string, number>, longestLeaseMs: 0 };
      // A put that failed without a refusal (a stream reset or a timeout on a loaded machine) is tried again, twice
      // at most: what is counted is what the target refused, and why.
      const putOne = async (): Promise<string | null> => {
        const cap = createMutableWriteCap();
        const record = signRecord(cap, 1, randomBytes(a.payloadBytes ?? 1024));
        for (let attempt = 0; ; attempt++) {
          try {
            const r = await client.putSlot(storageIndexOf(cap)!, record, { leaseUntil: Date.now() + 400 * 86_400_000 });
            out.stored++;
            out.longestLeaseMs = Math.max(out.longestLeaseMs, r.leaseExpiry - Date.now());
            return null;
          } catch (e) {
            const reason = (e as { reason?: string }).reason;
            if (reason || attempt >= 2) return reason ?? (e as Error).message;
          }
        }
      };
      for (let i = 0; i < a.count; i++) {
        const refused = await putOne();
        if (refused === null) continue;
        bump(out.refusals, refused);
        if (a.stopOnRefusal) break;
      }
      return out;
    }
    case 'replay-slot': {
      // Someone else's record, fetched (SLOT_GET is open) and put back unchanged with a far lease.
      const client = node.storage(target(a.target));
      const si = Buffer.from(a.si, 'hex');
      const rec = await client.getSlot(si);
      if (!rec) throw new Error('no such slot on the target');
      const r = await client.putSlot(si, rec, { leaseUntil: Date.now() + 400 * 86_400_000 });
      return { status: r.status, leaseExpiry: r.leaseExpiry };
    }
    case 'slow-loris': {
      // WRITEs of real shares of about `size` bytes (a pack of our own: the server checks every byte against its
      // UEB), then one byte every `byteEveryMs`: reservations held for almost nothing.
      const pack = encodePack(randomBytes(a.size), { k: 1, n: a.writes });
      const ueb = uebOfShare(pack.shares[0]);
      const results = await Promise.all(pack.shares.map((share, i) => slowWrite(a.target, pack.storageIndex, i, share, ueb, a.byteEveryMs, a.maxMs)));
      return results;
    }
    case 'squat': {
      // Tiny shares for share numbers of someone else's storage index (holders see them; provider records publish
      // them), with the longest lease: does the target commit them? (issue 17 item 7)
      // Without the pack's UEB we make one up; with `uebFrom` we read the real one off a holder and send bytes of
      // our own under it.
      const client = node.storage(target(a.target));
      const si = Buffer.from(a.si, 'hex');
      let ueb: Uint8Array = randomBytes(72);
      let size = a.size;
      if (a.uebFrom) {
        const holder = node.storage(target(a.uebFrom));
        const [held] = await holder.list(si);
        if (!held) throw new Error('the holder holds no share of that storage index');
        [ueb] = await holder.read(si, held.shareNum, [[held.size - 64 - 72, 72]]);
        size = held.size;
      }
      const out: Record<string, string> = {};
      for (const n of a.shareNums) {
        try {
          const r = await client.writeShare(si, n, randomBytes(size), size, { ueb, leaseUntil: Date.now() + 400 * 86_400_000 });
          out[n] = r.status;
        } catch (e) {
          out[n] = (e as { reason?: string; code?: string }).reason ?? (e as { code?: string }).code ?? 'error';
        }
      }
      return out;
    }
    case 'trickle-request': {
      // A request frame sent one byte at a time: never complete, always just inside the idle timeout.
      const stream = await node.libp2p.dialProtocol(target(a.target), STORAGE_PROTOCOL);
      const bytes = encodeFrame(MSG.LIST, { si: randomBytes(16).toString('hex') }).subarray();
      const started = Date.now();
      const reader = new FrameReader(stream, { idleMs: a.maxMs });
      const sending = (async () => {
        for (const b of bytes) {
          if (stream.status !== 'open') return;
          stream.send(Uint8Array.of(b));
          await sleep(a.byteEveryMs);
        }
      })();
      try {
        const f = await reader.next();
        return { answered: f?.type === MSG.ERROR ? f.header.code : f ? 'ok' : 'closed', afterMs: Date.now() - started };
      } catch (e) {
        return { answered: (e as { code?: string }).code ?? 'reset', afterMs: Date.now() - started };
      } finally {
        reader.release();
        if (stream.status === 'open') stream.abort(new Error('done'));
        await sending.catch(() => {});
      }
    }
    case 'idle-streams': {
      // Streams opened and left empty: each costs the server a handler and a buffer until its request deadline.
      return Promise.all(
        Array.from({ length: a.count }, async () => {
          const stream = await node.libp2p.dialProtocol(target(a.target), STORAGE_PROTOCOL);
          const reader = new FrameReader(stream, { idleMs: a.maxMs });
          try {
            const f = await reader.next();
            return f ? (f.type === MSG.ERROR ? String(f.header.code) : 'ok') : 'closed';
          } catch (e) {
            return (e as { code?: string }).code ?? 'reset';
          } finally {
            reader.release();
            if (stream.status === 'open') stream.abort(new Error('done'));
          }
        })
      );
    }
    case 'big-request': {
      // A LIST frame carrying `bytes` of payload (the limit for any frame is 1 MiB + 8 KiB): how much does the
      // server read before it says no?
      const stream = await node.libp2p.dialProtocol(target(a.target), STORAGE_PROTOCOL);
      const reader = new FrameReader(stream, { idleMs: 10_000 });
      try {
        stream.send(encodeFrame(MSG.LIST, { si: randomBytes(16).toString('hex') }, randomBytes(a.bytes)));
        const f = await reader.next();
        return f ? (f.type === MSG.ERROR ? String(f.header.code) : 'ok') : 'closed';
      } catch (e) {
        return (e as { code?: string }).code ?? 'reset';
      } finally {
        reader.release();
        if (stream.status === 'open') stream.abort(new Error('done'));
      }
    }
    case 'flood-after-request': {
      // A LIST, then megabytes more on the same stream: the server must not buffer them (issue 17 item 12).
      const stream = await node.libp2p.dialProtocol(target(a.target), STORAGE_PROTOCOL);
      const reader = new FrameReader(stream, { idleMs: 10_000 });
      let sent = 0;
      try {
        stream.send(encodeFrame(MSG.LIST, { si: randomBytes(16).toString('hex') }));
        const chunk = new Uint8Array(64 * 1024);
        while (sent < a.bytes && stream.status === 'open' && stream.writeStatus === 'writable') {
          if (!stream.send(chunk)) await stream.onDrain({ signal: AbortSignal.timeout(5_000) }).catch(() => {});
          sent += chunk.byteLength;
        }
        const f = await reader.next().catch(() => null);
        return { sent, answer: f ? (f.type === MSG.OK ? 'ok' : String(f.header.code)) : 'none', status: stream.status };
      } finally {
        reader.release();
        if (stream.status === 'open') stream.abort(new Error('done'));
      }
    }
  }
}

async function slowWrite(
  to: string,
  si: Uint8Array,
  shareNum: number,
  share: Uint8Array,
  ueb: Uint8Array,
  byteEveryMs: number,
  maxMs: number
): Promise<{ accepted: boolean; acceptedAfterMs?: number; refusal?: string; code?: string; afterMs: number; sent: number }> {
  const stream = await node.libp2p.dialProtocol(target(to), STORAGE_PROTOCOL);
  const reader = new FrameReader(stream, { idleMs: maxMs });
  const started = Date.now();
  let sent = 0;
  try {
    const size = share.length;
    const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
    stream.send(encodeFrame(MSG.WRITE, { si: hex(si), shareNum, size, ueb: hex(ueb) }));
    const go = await reader.next();
    if (!go || go.type !== MSG.OK) return { accepted: false, refusal: String(go?.header.reason ?? go?.header.code), afterMs: Date.now() - started, sent };
    const acceptedAfterMs = Date.now() - started;
    let answered = false;
    const answer = reader.next().finally(() => {
      answered = true;
    });
    answer.catch(() => {});
    while (Date.now() - started < maxMs && sent < size) {
      if (answered || stream.status !== 'open' || reader.hasInput()) break;
      stream.send(encodeFrame(MSG.DATA, {}, share.subarray(sent, sent + 1)));
      sent++;
      await Promise.race([sleep(byteEveryMs), answer.catch(() => {})]);
    }
    const f = await Promise.race([answer, sleep(2_000).then(() => null)]).catch(() => null);
    return {
      accepted: true,
      acceptedAfterMs,
      code: f ? String(f.header.code ?? 'ok') : stream.status === 'open' ? 'still-open' : 'reset',
      afterMs: Date.now() - started,
      sent
    };
  } finally {
    reader.release();
    if (stream.status === 'open') stream.abort(new Error('done'));
  }
}

// ---- control channel ------------------------------------------------------------------------------------

process.on('message', async (m: { id: number; op: string; behaviour?: Behaviour; attack?: Attack }) => {
  try {
    let result: unknown = null;
    if (m.op === 'set') behaviour = m.behaviour ?? {};
    else if (m.op === 'attack') result = await attack(m.attack!);
    else if (m.op === 'stats') result = stats;
    else if (m.op === 'dial') {
      await node.libp2p.dial(multiaddr((m as unknown as { addr: string }).addr));
    } else if (m.op === 'stop') {
      closing.abort();
      await node.stop();
      await store.close();
      process.send!({ id: m.id, result: null }, () => process.exit(0));
      return;
    }
    process.send!({ id: m.id, result });
  } catch (e) {
    process.send!({ id: m.id, error: { message: (e as Error).message, code: (e as { code?: string }).code } });
  }
});
process.on('disconnect', () => process.exit(0));
process.send!({ ready: { peerId: node.peerId.toString(), addresses: node.multiaddrs().map((a) => a.toString()) } });
