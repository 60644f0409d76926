// Download: find who holds shares of a file and decode it from them, verified block by block.
// 1. Holders: LIST on the DHT-closest peers to the storage index (where upload put them), provider
//    records only when those hold fewer than k shares (locate.ts); peers that answer first come first.
// 2. Every (peer, share) pair becomes a ShareSource; the decoder verifies each block's Merkle path
//    against the cap before use, drops a source that lies or fails, and needs any k good shares.
// 3. Reads are hedged (hedge.ts): a holder much slower than the others is abandoned for another share as
//    long as k shares remain, so one trickling holder cannot hold a download up.
import { decodeFile, InvalidParamsError, NotEnoughSharesError, type DecodeStream, type ShareSource } from '../format/index.ts';
import { formatCap, InvalidCapError, parseCap, storageIndexOf } from '../caps/index.ts';
import { locate } from './locate.ts';
import { hedgedSources } from './hedge.ts';
import type { ClientProgress, ServerFinder } from './types.ts';

export interface DownloadOptions {
  range?: { offset: number; length: number };
  signal?: AbortSignal;
  onProgress?: (e: ClientProgress) => void;
}

export interface DownloadHandle {
  size: number;
  stream: DecodeStream;
}

/** Every (peer, share) pair holding shares of `si`, as hedged sources (`k` shares needed), fastest holders first. */
export async function findSources(si: Uint8Array, finder: ServerFinder, n: number, signal?: AbortSignal, enough = n, k = enough): Promise<{ sources: ShareSource[]; shares: Set<number>; holders: number }> {
  const loc = await locate(si, finder, n, signal, enough);
  return {
    sources: hedgedSources(loc, { k, finder, signal }),
    shares: new Set(loc.pairs.map((p) => p.shareNum)),
    holders: new Set(loc.pairs.map((p) => p.peer)).size
  };
}

export async function download(capText: string, finder: ServerFinder, o: DownloadOptions = {}): Promise<DownloadHandle> {
  const cap = parseCap(capText);
  if (cap.type === 'slice') {
    // A byte range of a pack: only the pack's segments under the range are fetched and verified.
    const r = o.range ?? { offset: 0, length: cap.length };
    if (!Number.isSafeInteger(r.offset) || !Number.isSafeInteger(r.length) || r.offset < 0 || r.length < 0 || r.offset + r.length > cap.length) {
      throw new InvalidParamsError('range outside the slice', { offset: r.offset, length: r.length, size: cap.length });
    }
    const h = await download(formatCap(cap.pack), finder, { ...o, range: { offset: cap.offset + r.offset, length: r.length } });
    return { size: cap.length, stream: h.stream };
  }
  if (cap.type === 'lit') return { size: cap.data.length, stream: decodeFile(cap, [], { range: o.range }) };
  if (cap.type !== 'chk') throw new InvalidCapError('ERR_CAP_WRONG_KIND', `a file read cap (p2pb:chk:…) is needed, not a "${cap.type}" cap`, { type: cap.type });
  const si = storageIndexOf(cap)!;
  const { sources, shares, holders } = await findSources(si, finder, cap.n, o.signal, cap.k);
  o.onProgress?.({ type: 'client:download:holders', holders, shares: shares.size });
  if (shares.size < cap.k) throw new NotEnoughSharesError({ needed: cap.k, found: shares.size, storageIndex: Buffer.from(si).toString('hex') });
  return { size: cap.size, stream: decodeFile(cap, sources, { range: o.range, signal: o.signal }) };
}

