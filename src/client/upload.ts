// Upload a pack: encode it whole (format 2: its storage index derives from its roots), then place its n shares
// on distinct peers (servers-of-happiness).
// 1. encodePack gives every share in memory and the storage index.
// 2. Candidates are the DHT-closest peers to the storage index; share i goes to the next unused candidate. A WRITE
//    is answered (accepted, refused with a reason, or `exists`) before any data moves, so a refused share simply
//    moves on to the next candidate.
// 3. An `exists` answer counts only once the holder proves it: its share's trailer (block tree, share roots, UEB,
//    footer) must equal the one this upload computed. Otherwise the share goes elsewhere. (Storage peers check every
//    block of a share against its tree before they commit it, so a committed share with our trailer has our blocks.)
// 4. Shares that failed go to candidates not used yet (a second pass); success needs happiness >= happy.
import { encodePack } from '../format/index.ts';
import { formatCap, type PackCap } from '../caps/index.ts';
import { faultPoint } from '../common/fault.ts';
import { happiness } from './happiness.ts';
import { NoPeersError, NotHappyError } from './errors.ts';
import type { ClientProgress, ServerFinder, ShareServer } from './types.ts';

/** Pieces a share is sent in (one storage frame's payload). */
const PIECE_BYTES = 1 << 20;

export interface UploadOptions {
  k: number;
  n: number;
  happy: number;
  segmentSize?: number;
  signal?: AbortSignal;
  onProgress?: (e: ClientProgress) => void;
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

async function* pieces(share: Uint8Array): AsyncIterable<Uint8Array> {
  for (let o = 0; o < share.length; o += PIECE_BYTES) yield share.subarray(o, Math.min(share.length, o + PIECE_BYTES));
}

/** Does `server` hold share `i` exactly as we would write it? Its trailer must equal ours byte for byte. */
async function provesShare(server: ShareServer, si: Uint8Array, i: number, share: Uint8Array, trailerAt: number, signal?: AbortSignal): Promise<boolean> {
  try {
    const listed = (await server.list(si, { signal })).find((s) => s.shareNum === i);
    if (!listed || listed.size !== share.length) return false;
    const [got] = await server.read(si, i, [[trailerAt, share.length - trailerAt]], { signal });
    return got.length === share.length - trailerAt && Buffer.compare(got, share.subarray(trailerAt)) === 0;
  } catch {
    signal?.throwIfAborted();
    return false;
  }
}

export async function uploadPack(bytes: Uint8Array, finder: ServerFinder, o: UploadOptions): Promise<UploadResult> {
  const enc = encodePack(bytes, { k: o.k, n: o.n, segmentSize: o.segmentSize, signal: o.signal });
  const si = enc.storageIndex;
  const key = hex(si);
  for (let other = uploading.get(key); other; other = uploading.get(key)) await other;
  let release!: () => void;
  const mine = new Promise<void>((resolve) => { release = () => { if (uploading.get(key) === mine) uploading.delete(key); resolve(); }; });
  uploading.set(key, mine);
  try {
    const placements = new Map<number, Set<string>>();
    const refusals: Record<string, string> = {};
    const used = new Set<string>();
    const candidates = await finder.candidates(si, 2 * o.n, { signal: o.signal });
    if (candidates.length === 0) throw new NoPeersError();
    const place = (share: number, peer: string) => {
      if (!placements.has(share)) placements.set(share, new Set());
      placements.get(share)!.add(peer);
    };
    const writeOne = async (share: number): Promise<void> => {
      for (;;) {
        const server = candidates.find((c) => !used.has(c.id));
        if (!server) return;
        used.add(server.id);
        try {
          const r = await server.writeShare(si, share, pieces(enc.shares[share]), enc.shares[share].length, { signal: o.signal });
          if (r.status === 'exists' && !await provesShare(server, si, share, enc.shares[share], enc.geometry.blockTreeOffset, o.signal)) {
            throw Object.assign(new Error('answered "exists" but does not hold this share'), { reason: 'unproven-exists' });
          }
          place(share, server.id);
          faultPoint('client:upload:share-placed'); // crash tests: some shares of a pack placed, not all
          o.onProgress?.({ type: 'client:upload:share-placed', shareNum: share, peer: server.id });
          return;
        } catch (err: any) {
          if (o.signal?.aborted) throw o.signal.reason;
          refusals[server.id] = `${err?.reason ?? ''}${err?.reason ? ': ' : ''}${err?.message ?? err}`;
          o.onProgress?.({ type: 'client:upload:share-failed', shareNum: share, peer: server.id, error: String(err?.message ?? err) });
        }
      }
    };
    await Promise.all(Array.from({ length: o.n }, (_, i) => writeOne(i)));
    const h = happiness(placements);
    if (h < o.happy) throw new NotHappyError({ happiness: h, happy: o.happy, candidates: candidates.length, refusals });
    void finder.announce?.(si).catch(() => {});
    return {
      cap: enc.cap, capText: formatCap(enc.cap), storageIndex: key, size: bytes.length,
      placements: Object.fromEntries([...placements].map(([k, v]) => [String(k), [...v]])),
      happiness: h
    };
  } finally {
    release();
  }
}
