// Upload: encode a file and place its n shares on distinct peers, streaming.
// 1. The encoder hashes the input (convergent key) and computes the storage index and share size.
// 2. Candidates are the DHT-closest peers to the storage index; each is asked which shares it already
//    holds (a convergent re-upload costs nothing) and whether it accepts a share of that size.
// 3. Share i streams to its peer through a bounded channel, in lock-step with the encoder, so memory
//    stays at a few segments; a peer that fails mid-stream is dropped, the others go on.
// 4. A peer answering `exists` (it already holds that share) moved no byte: its claim counts only once proven
//    (prove.ts: its trailer matches the UEB hash just computed, a challenged block its share root), after the
//    pass that made it, and an unproven claim is reported as a failed audit.
// 5. Success needs happiness >= happy. Otherwise, for a convergent file, the missing shares are encoded
//    again (same key, same bytes) and offered to the remaining candidates.
// Every share held (written, or claimed and proven) is reported to the finder (`onPlaced`: fairness credit).
import { encodeFile, type EncodeStart, type FileInput, type ShareSink } from '../format/index.ts';
import { formatCap, type VerifyCap } from '../caps/index.ts';
import { faultPoint } from '../common/fault.ts';
import { P2PBackupError } from '../common/errors.ts';
import { Channel } from './channel.ts';
import { happiness } from './happiness.ts';
import { NoPeersError, NotHappyError } from './errors.ts';
import { proveShare } from './prove.ts';
import type { ClientProgress, ServerFinder, ShareServer } from './types.ts';

const CHANNEL_DEPTH = 4; // chunks queued per share before the encoder waits (a chunk is at most a block)
const DONE = new Error('share stream finished');
/**
 * A share whose channel stays full this long (ms) while every other share's peer has taken all it was given is
 * dropped: shares are written in lock-step, so one peer that reads slowly (a trickle just inside the idle
 * timeout) would otherwise hold the whole upload to its pace. The second pass places the share elsewhere.
 */
export const LAGGARD_MS = 10_000;

/** A peer took a share's bytes much more slowly than the other peers took theirs. */
export class SlowPeerError extends P2PBackupError {
  constructor(peer: string, shareNum: number, ms: number) {
    super('ERR_SLOW_PEER', `peer ${peer} took no more of share ${shareNum} for ${ms} ms while the others kept up; it is placed elsewhere`, { peer, shareNum, ms });
  }
}

export interface UploadOptions {
  k: number;
  n: number;
  happy: number;
  convergenceSecret?: Uint8Array;
  segmentSize?: number;
  /** LAGGARD_MS by default (tests shorten it). */
  laggardMs?: number;
  signal?: AbortSignal;
  onProgress?: (e: ClientProgress) => void;
}

export interface UploadResult {
  cap: string;
  verifyCap: string | null;
  storageIndex: string | null;
  size: number;
  /** shareNum -> peer ids holding it */
  placements: Record<string, string[]>;
  happiness: number;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/**
 * Uploads of one storage index in this process, in flight. A second upload of the same content (a copy
 * of a file, two equal packs) waits for the first and then finds its shares stored (`exists`): two
 * concurrent writes of one share would be refused as busy by the peers and could fail both.
 */
const uploading = new Map<string, Promise<void>>();

export async function upload(input: FileInput, finder: ServerFinder, o: UploadOptions): Promise<UploadResult> {
  const placements = new Map<number, Set<string>>();
  const refusals: Record<string, string> = {};
  const used = new Set<string>();
  const written: { share: number; server: ShareServer }[] = [];
  /** `exists` answers of the current pass, proven (or not) once its encode is done. */
  const claims: { share: number; server: ShareServer }[] = [];
  let candidates: ShareServer[] = [];
  let start: EncodeStart | null = null;
  const place = (share: number, peer: string) => {
    if (!placements.has(share)) placements.set(share, new Set());
    placements.get(share)!.add(peer);
    used.add(peer);
  };

  let releaseSi: (() => void) | null = null;
  const firstSink = async (s: EncodeStart): Promise<ShareSink> => {
    const key = hex(s.storageIndex);
    for (let other = uploading.get(key); other; other = uploading.get(key)) await other;
    const mine = new Promise<void>((resolve) => { releaseSi = () => { if (uploading.get(key) === mine) uploading.delete(key); resolve(); }; });
    uploading.set(key, mine);
    start = s;
    candidates = await finder.candidates(s.storageIndex, 2 * s.n, { signal: o.signal });
    if (candidates.length === 0) throw new NoPeersError();
    return placeAndSink(s, range(s.n));
  };

  // Each share goes to the next unused candidate. No separate ask-first round trip: a WRITE is answered
  // (accepted, refused with a reason, or `exists` for a convergent re-upload) before any data moves,
  // so a refused share simply moves on to the next candidate with its stream still untouched.
  const writers: Promise<void>[] = [];
  /** Per share of the current pass: its peer, and how to end its stream at once (a laggard, dropped). */
  const streams = new Map<number, { peer: string; ac: AbortController; ch: Channel<Uint8Array>; done: boolean }>();
  const dropLaggard = (share: number, ms: number) => {
    const w = streams.get(share);
    if (!w || w.done) return;
    const err = new SlowPeerError(w.peer, share, ms);
    w.ch.fail(err);
    w.ac.abort(err);
  };
  const allChannels: Channel<Uint8Array>[] = [];
  // If encoding fails midway, every share stream must end too (writers would wait forever otherwise,
  // holding their streams and the peers' temp files).
  const encodeOrAbort = async (run: () => Promise<Awaited<ReturnType<typeof encodeFile>>>) => {
    try {
      return await run();
    } catch (err) {
      for (const ch of allChannels) ch.fail(err);
      await Promise.allSettled(writers.splice(0));
      throw err;
    }
  };
  const placeAndSink = async (s: EncodeStart, missing: number[]): Promise<ShareSink> => {
    const channels = new Map<number, Channel<Uint8Array>>();
    const free = candidates.filter((c) => !used.has(c.id));
    const writeOne = async (share: number, ch: Channel<Uint8Array>) => {
      for (;;) {
        const server = free.shift();
        if (!server) {
          ch.fail(new NoPeersError());
          return;
        }
        used.add(server.id);
        const ac = new AbortController();
        const w = { peer: server.id, ac, ch, done: false };
        streams.set(share, w);
        try {
          const r = await server.writeShare(s.storageIndex, share, ch, s.shareSize, { signal: o.signal ? AbortSignal.any([o.signal, ac.signal]) : ac.signal }).finally(() => { w.done = true; });
          ch.fail(DONE); // an `exists` answer consumes nothing: stop feeding this share
          if (r.status === 'exists') {
            claims.push({ share, server }); // counted once proven (proveClaims)
            return;
          }
          written.push({ share, server });
          place(share, server.id);
          faultPoint('client:upload:share-placed'); // crash tests: some shares of a file placed, not all
          o.onProgress?.({ type: 'client:upload:share-placed', shareNum: share, peer: server.id });
          return;
        } catch (err: any) {
          refusals[server.id] = `${err?.reason ?? ''}${err?.reason ? ': ' : ''}${err?.message ?? err}`;
          o.onProgress?.({ type: 'client:upload:share-failed', shareNum: share, peer: server.id, error: String(err?.message ?? err) });
          // Refused before any byte moved: try the next candidate. Failed midway: the share is lost
          // for this pass (the second pass re-encodes it for another peer).
          if (ch.started || o.signal?.aborted) {
            ch.fail(err);
            return;
          }
        }
      }
    };
    for (const share of missing) {
      if (!free.length) break;
      const ch = new Channel<Uint8Array>(CHANNEL_DEPTH);
      channels.set(share, ch);
      allChannels.push(ch);
      writers.push(writeOne(share, ch));
    }
    return {
      // A failed peer must not stall or fail the others: its chunks are dropped; a laggard is dropped too.
      async write(i, chunk) {
        const ch = channels.get(i);
        if (!ch || ch.failed) return;
        const pushed = ch.push(chunk).then(() => true, () => true);
        const since = Date.now();
        for (;;) {
          let timer: NodeJS.Timeout | undefined;
          const done = await Promise.race([pushed, new Promise<false>((r) => { timer = setTimeout(() => r(false), o.laggardMs ?? LAGGARD_MS); })]);
          clearTimeout(timer);
          if (done) return;
          const others = [...channels.values()].filter((c) => c !== ch && !c.failed);
          if (others.length && others.every((c) => c.queued === 0)) {
            dropLaggard(i, Date.now() - since);
            return;
          }
        }
      },
      async close(i) {
        channels.get(i)?.close();
      }
    };
  };

  const encodeOpts = {
    k: o.k, n: o.n, segmentSize: o.segmentSize, signal: o.signal,
    convergenceSecret: o.convergenceSecret, randomKey: o.convergenceSecret === undefined,
    onProgress: (e: { phase: string; bytes: number; total: number }) =>
      o.onProgress?.({ type: e.phase === 'hash' ? 'client:upload:hash' : 'client:upload:encode', bytes: e.bytes, total: e.total })
  };
  try {
    return await uploadPasses();
  } finally {
    (releaseSi as (() => void) | null)?.();
  }

  /**
   * Wait for this pass's share streams. Once some have finished, the others get LAGGARD_MS more (from the last
   * one finished): a peer that took its queued chunks far more slowly than the rest is dropped, not waited for.
   */
  async function settleWriters(): Promise<void> {
    const all = writers.splice(0);
    let finished = 0;
    let lastAt = Date.now();
    const tracked = all.map((p) => p.finally(() => { finished++; lastAt = Date.now(); }));
    const everything = Promise.all(tracked).then(() => true);
    while (finished < all.length) {
      let timer: NodeJS.Timeout | undefined;
      const done = await Promise.race([everything, new Promise<false>((r) => { timer = setTimeout(() => r(false), o.laggardMs ?? LAGGARD_MS); })]);
      clearTimeout(timer);
      if (done) break;
      const idle = Date.now() - lastAt;
      if (finished > 0 && idle >= (o.laggardMs ?? LAGGARD_MS)) for (const [share, w] of streams) if (!w.done) dropLaggard(share, idle);
    }
    await everything;
    streams.clear();
  }

  /** Prove this pass's `exists` claims: a proven share is placed, an unproven one is left for the next pass. */
  async function proveClaims(vcap: VerifyCap | null): Promise<void> {
    const pending = claims.splice(0);
    if (!vcap || !start) return;
    const si = vcap.storageIndex;
    await Promise.all(pending.map(async ({ share, server }) => {
      const r = await proveShare(server, vcap, share, start!.shareSize, { signal: o.signal });
      if (r.ok) {
        place(share, server.id);
        o.onProgress?.({ type: 'client:upload:share-placed', shareNum: share, peer: server.id });
      } else {
        refusals[server.id] = `exists, not proven: ${r.reason}`;
        o.onProgress?.({ type: 'client:upload:share-failed', shareNum: share, peer: server.id, error: `claimed to hold the share; not proven: ${r.reason}` });
      }
      if (!r.ok && r.unreachable) return;
      await Promise.resolve(finder.onAudit?.({ peer: server.id, si, shareNum: share, ok: r.ok, ...(r.ok ? {} : { reason: `claimed share not proven: ${r.reason}` }) })).catch(() => {});
    }));
  }

  async function uploadPasses(): Promise<UploadResult> {
    const result = await encodeOrAbort(() => encodeFile(input, { ...encodeOpts, sink: firstSink }));
    await settleWriters();
    await proveClaims(result.verifyCap);

    // Second pass for shares lost mid-stream or never placed, onto peers not used yet (convergent only:
    // a random key would produce different shares).
    if (start && happiness(placements) < o.happy && o.convergenceSecret) {
      const missing = range(o.n).filter((i) => !placements.has(i));
      if (missing.length && candidates.some((c) => !used.has(c.id))) {
        await encodeOrAbort(() => encodeFile(input, { ...encodeOpts, sink: (s) => placeAndSink(s, missing) }));
        await settleWriters();
        await proveClaims(result.verifyCap);
      }
    }
    // Credit what peers hold, whether or not the upload as a whole succeeds: they hold my bytes.
    if (result.verifyCap && finder.onPlaced) {
      const verifyCap = formatCap(result.verifyCap);
      for (const [share, peers] of placements) {
        for (const peer of peers) {
          const how = written.some((w) => w.share === share && w.server.id === peer) ? 'written' as const : 'proven' as const;
          await Promise.resolve(finder.onPlaced({ peer, si: result.verifyCap.storageIndex, shareNum: share, size: start!.shareSize, verifyCap, how })).catch(() => {});
        }
      }
    }
    const h = start ? happiness(placements) : o.happy;
    if (start && h < o.happy) throw new NotHappyError({ happiness: h, happy: o.happy, candidates: candidates.length, refusals });
    if (result.storageIndex) void finder.announce?.(result.storageIndex).catch(() => {});
    return {
      cap: formatCap(result.cap),
      verifyCap: result.verifyCap ? formatCap(result.verifyCap) : null,
      storageIndex: result.storageIndex ? hex(result.storageIndex) : null,
      size: input.size,
      placements: Object.fromEntries([...placements].map(([k, v]) => [String(k), [...v]])),
      happiness: h
    };
  }
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

