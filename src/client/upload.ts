// Upload a pack: encode it whole (format 2: its storage index derives from its roots), then place its n shares
// on distinct peers (servers-of-happiness).
// 1. encodePack gives every share in memory and the storage index.
// 2. Candidates are the DHT-closest peers to the storage index; share i goes to the next unused candidate. A WRITE
//    is answered (accepted, refused with a reason, or `exists`) before any data moves, so a refused share simply
//    moves on to the next candidate.
// 3. An `exists` answer moved no byte: it counts only once proven (prove.ts: the holder's trailer checks against
//    the pack cap just computed, and a challenged block against its share root); an unproven claim is reported as
//    a failed audit and the share goes elsewhere. (Storage peers also check every block of a share against its
//    tree before they commit it, so a committed share filed under this storage index is this pack's.)
// 4. A share still being written LAGGARD_MS after the others finished is dropped and written elsewhere: one peer
//    that reads slowly (a trickle inside the idle timeout) must not hold the upload to its pace. Only while an
//    unused candidate is left to take it: a slow peer is better than no peer.
// 5. Success needs happiness >= happy. Every share held (written, or claimed and proven) is reported to the
//    finder (`onPlaced`: fairness credit), whether or not the upload as a whole succeeds: they hold my bytes.
import { setTimeout as sleep } from 'node:timers/promises';
import { encodePack, sharePieces, sharesBytes, uebOfShare } from '../format/index.ts';
import { formatCap, type PackCap } from '../caps/index.ts';
import { BufferPool } from '../common/buffer-pool.ts';
import { faultPoint } from '../common/fault.ts';
import { P2PBackupError } from '../common/errors.ts';
import { happiness } from './happiness.ts';
import { NoPeersError, NotHappyError } from './errors.ts';
import { proveShare } from './prove.ts';
import type { ClientProgress, ServerFinder } from './types.ts';

/** Longest piece a share is sent in (one storage frame's payload); pieces end where blocks end (sharePieces). */
const PIECE_BYTES = 1 << 20;
/** A share still being written this long (ms) after every other share of the pack finished is dropped. */
export const LAGGARD_MS = 10_000;
/**
 * Fewer candidates than `happy` (a swarm still forming: a peer behind NAT shows up in the DHT only once it has
 * connected out, and a walk may miss it): look again this many times, CANDIDATE_RETRY_MS apart, before failing.
 */
export const CANDIDATE_RETRIES = 2;
export const CANDIDATE_RETRY_MS = 1_500;

/** A peer took a share's bytes much more slowly than the other peers took theirs. */
export class SlowPeerError extends P2PBackupError {
  constructor(peer: string, shareNum: number, ms: number) {
    super('ERR_SLOW_PEER', `peer ${peer} was still taking share ${shareNum} ${ms} ms after the other peers finished; it is placed elsewhere`, {
      peer,
      shareNum,
      ms
    });
  }
}

export interface UploadOptions {
  k: number;
  n: number;
  happy: number;
  segmentSize?: number;
  /** LAGGARD_MS by default (tests shorten it). */
  laggardMs?: number;
  signal?: AbortSignal;
  onProgress?: (e: ClientProgress) => void;
  /** Called once `bytes` are no longer read (the shares are encoded, or encoding failed): the caller may reuse them. */
  onConsumed?: () => void;
}

export interface UploadResult {
  cap: PackCap;
  capText: string;
  storageIndex: string;
  size: number;
  /** shareNum -> peer ids holding it */
  placements: Record<string, string[]>;
  happiness: number;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** Uploads of one storage index in this process, in flight: a second upload of identical bytes waits for the first. */
const uploading = new Map<string, Promise<void>>();

/**
 * Share memory of packs already placed, for the next packs to encode into: a backup's packs would otherwise
 * allocate (and the garbage collector chase) 1.67x their bytes each. A buffer comes back only from an upload
 * whose every write was answered (nothing of it can still be queued on a stream); at most SHARE_POOL_BYTES are
 * kept (four full packs' shares), and none once uploads have stopped for SHARE_POOL_IDLE_MS (an idle daemon holds
 * no pack memory). Capacities are whole SHARE_POOL_UNIT units, one unit holding a full pack's shares (the
 * repository's 8 MiB packs at 3-of-5: 13.4 MiB), so the buffer of a run's first, smaller packs (the packer starts at
 * 512 KiB and doubles) serves its full packs next and no small buffer stays beside them (pages never written cost
 * no RSS). In 4 MiB units the 4, 8 and 16 MiB buffers of the first packs stayed pooled and resident: a 1 GiB
 * backup's client peaked at 315-318 MiB, with one unit per full pack at 288-299 (16 MiB packs then, interleaved
 * pairs; same wall time within noise).
 */
const SHARE_POOL_BYTES = 64 << 20;
const SHARE_POOL_IDLE_MS = 5_000;
const SHARE_POOL_UNIT = 16 << 20;
const sharePool = new BufferPool({ maxBytes: SHARE_POOL_BYTES, idleMs: SHARE_POOL_IDLE_MS, unit: SHARE_POOL_UNIT });

/**
 * Let go of the share pool now: a backup's uploads are over (the repository flushed), and what comes next (a
 * restore, an idle daemon) should not find 4 packs' worth of shares still held for up to SHARE_POOL_IDLE_MS.
 */
export function releaseShareMemory(): void {
  sharePool.clear();
}

/** Buffers in the share pool now (tests). */
export function sharePoolSize(): number {
  return sharePool.buffersHeld;
}

/** A whole share as writeShare's source: cut where its blocks end (sharePieces), stopping once `signal` aborts. */
export async function* shareSource(share: Uint8Array, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
  for (const piece of sharePieces(share, PIECE_BYTES)) {
    signal?.throwIfAborted();
    yield piece;
  }
}

export async function uploadPack(bytes: Uint8Array, finder: ServerFinder, o: UploadOptions): Promise<UploadResult> {
  const size = bytes.length;
  let memory: Uint8Array | null = null;
  let enc: ReturnType<typeof encodePack>;
  try {
    memory = sharePool.take(sharesBytes(size, o)); // every byte encodePack uses is written
    enc = encodePack(bytes, { k: o.k, n: o.n, segmentSize: o.segmentSize, signal: o.signal, into: memory });
  } catch (e) {
    if (memory) sharePool.give(memory);
    throw e;
  } finally {
    o.onConsumed?.(); // `bytes` are not read again: the packer may seal its next pack into them
  }
  // Whether every write of a share that started ended in an answer: only then is no view of `memory` left on a
  // stream, and the memory goes back to the pool when the upload ends (also when it fails before any write).
  let answered = true;
  const si = enc.storageIndex;
  const key = hex(si);
  const capText = formatCap(enc.cap);
  for (let other = uploading.get(key); other; other = uploading.get(key)) await other;
  let release!: () => void;
  const mine = new Promise<void>((resolve) => {
    release = () => {
      if (uploading.get(key) === mine) uploading.delete(key);
      resolve();
    };
  });
  uploading.set(key, mine);
  try {
    const placements = new Map<number, Set<string>>();
    const how = new Map<string, 'written' | 'proven'>();
    const refusals: Record<string, string> = {};
    const used = new Set<string>();
    let candidates = await finder.candidates(si, 2 * o.n, { signal: o.signal });
    for (let i = 0; i < CANDIDATE_RETRIES && candidates.length < o.happy; i++) {
      await sleep(CANDIDATE_RETRY_MS, undefined, { signal: o.signal });
      candidates = await finder.candidates(si, 2 * o.n, { signal: o.signal, refresh: true });
    }
    if (candidates.length === 0) throw new NoPeersError();
    const place = (share: number, peer: string, h: 'written' | 'proven') => {
      if (!placements.has(share)) placements.set(share, new Set());
      placements.get(share)!.add(peer);
      how.set(`${share}/${peer}`, h);
      faultPoint('client:upload:share-placed'); // crash tests: some shares of a pack placed, not all
      o.onProgress?.({ type: 'client:upload:share-placed', shareNum: share, peer });
    };
    const laggardMs = o.laggardMs ?? LAGGARD_MS;
    // Laggards: once one share finished, each still running gets laggardMs from the latest finish.
    let lastFinish = 0;
    const running = new Map<number, { ac: AbortController; peer: string }>();
    const watchdog = setInterval(
      () => {
        if (!lastFinish) return;
        const idle = Date.now() - lastFinish;
        if (idle < laggardMs) return;
        // Only as many as there are peers left to take their shares: with none, the slow peer is still the best
        // there is (the idle timeout and the server's rate floor bound it).
        let spare = candidates.filter((c) => !used.has(c.id)).length;
        for (const [share, w] of running) {
          if (w.ac.signal.aborted) continue;
          if (spare-- <= 0) break;
          w.ac.abort(new SlowPeerError(w.peer, share, idle));
        }
      },
      Math.max(50, Math.min(1000, laggardMs / 4))
    );
    watchdog.unref();

    const writeOne = async (share: number): Promise<void> => {
      for (;;) {
        const server = candidates.find((c) => !used.has(c.id));
        if (!server) return;
        used.add(server.id);
        const ac = new AbortController();
        const signal = o.signal ? AbortSignal.any([o.signal, ac.signal]) : ac.signal;
        running.set(share, { ac, peer: server.id });
        try {
          const r = await server.writeShare(si, share, shareSource(enc.shares[share], signal), enc.shares[share].length, {
            ueb: uebOfShare(enc.shares[share]),
            signal
          });
          running.delete(share);
          if (r.status === 'exists') {
            const proof = await proveShare(server, enc.cap, share, enc.shares[share].length, { signal: o.signal });
            if (!(proof.ok === false && proof.unreachable)) {
              await Promise.resolve(
                finder.onAudit?.({
                  peer: server.id,
                  si,
                  shareNum: share,
                  ok: proof.ok,
                  ...(proof.ok ? {} : { reason: `claimed share not proven: ${proof.reason}` })
                })
              ).catch(() => {});
            }
            if (!proof.ok) throw Object.assign(new Error(`answered "exists" but did not prove it: ${proof.reason}`), { reason: 'unproven-exists' });
            place(share, server.id, 'proven');
          } else {
            place(share, server.id, 'written');
          }
          lastFinish = Date.now();
          return;
        } catch (err: any) {
          answered = false;
          running.delete(share);
          if (o.signal?.aborted) throw o.signal.reason;
          const why = ac.signal.aborted ? ac.signal.reason : err;
          refusals[server.id] = `${why?.reason ?? ''}${why?.reason ? ': ' : ''}${why?.message ?? why}`;
          o.onProgress?.({ type: 'client:upload:share-failed', shareNum: share, peer: server.id, error: String(why?.message ?? why) });
          if (ac.signal.aborted) finder.demote?.(server.id);
        }
      }
    };
    try {
      await Promise.all(Array.from({ length: o.n }, (_, i) => writeOne(i)));
    } catch (e) {
      answered = false;
      throw e;
    } finally {
      clearInterval(watchdog);
    }
    // Credit what peers hold, whether or not the upload as a whole succeeds: they hold my bytes. All at once: the
    // ledger writes credits asked for in the same tick as one batch (one LevelDB write per pack, not n in a row).
    const onPlaced = finder.onPlaced?.bind(finder);
    if (onPlaced) {
      await Promise.all(
        [...placements].flatMap(([share, peers]) =>
          [...peers].map((peer) =>
            Promise.resolve()
              .then(() => onPlaced({ peer, si, shareNum: share, size: enc.shares[share].length, verifyCap: capText, how: how.get(`${share}/${peer}`)! }))
              .catch(() => {})
          )
        )
      );
    }
    const h = happiness(placements);
    if (h < o.happy) throw new NotHappyError({ happiness: h, happy: o.happy, candidates: candidates.length, refusals });
    void finder.announce?.(si).catch(() => {});
    return {
      cap: enc.cap,
      capText,
      storageIndex: key,
      size,
      placements: Object.fromEntries([...placements].map(([k, v]) => [String(k), [...v]])),
      happiness: h
    };
  } finally {
    release();
    if (answered) sharePool.give(memory);
  }
}
