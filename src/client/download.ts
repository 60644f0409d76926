// Download a pack: find who holds its shares and decode it from them, verified block by block.
// 1. Holders: LIST on the DHT-closest peers to the storage index (where upload put them), provider
//    records only when those hold fewer than k shares (locate.ts); peers that answer first come first.
// 2. Every (peer, share) pair becomes a ShareSource; the decoder verifies each block's Merkle path
//    against the pack cap before use, drops a source that lies or fails, and needs any k good shares.
// 3. Reads are hedged (hedge.ts): a holder much slower than the others is abandoned for another share as
//    long as k shares remain, so one trickling holder cannot hold a download up.
import { decodeFile, NotEnoughSharesError, type DecodeStream, type ShareSource } from '../format/index.ts';
import { InvalidCapError, parseCap, storageIndexOf, type PackCap } from '../caps/index.ts';
import { locate } from './locate.ts';
import { hedgedSources } from './hedge.ts';
import type { ClientProgress, ServerFinder } from './types.ts';

export interface DownloadOptions {
  range?: { offset: number; length: number };
  /** Where the bytes go (decodeFile's `into`). */
  into?: Uint8Array;
  signal?: AbortSignal;
  onProgress?: (e: ClientProgress) => void;
}

export interface DownloadHandle {
  size: number;
  stream: DecodeStream;
}

/** Every (peer, share) pair holding shares of `si`, as hedged sources (`k` shares needed), fastest holders first. */
export async function findSources(
  si: Uint8Array,
  finder: ServerFinder,
  n: number,
  signal?: AbortSignal,
  enough = n,
  k = enough
): Promise<{ sources: ShareSource[]; shares: Set<number>; holders: number }> {
  const loc = await locate(si, finder, n, signal, enough);
  return {
    sources: hedgedSources(loc, { k, finder, signal }),
    shares: new Set(loc.pairs.map((p) => p.shareNum)),
    holders: new Set(loc.pairs.map((p) => p.peer)).size
  };
}

export async function download(capIn: PackCap | string, finder: ServerFinder, o: DownloadOptions = {}): Promise<DownloadHandle> {
  const cap = typeof capIn === 'string' ? parseCap(capIn) : capIn;
  if (cap.type !== 'pack')
    throw new InvalidCapError('ERR_CAP_WRONG_KIND', `a pack cap (p2pb:pack:…) is needed here, not a "${cap.type}" cap`, { type: cap.type });
  const si = storageIndexOf(cap)!;
  const { sources, shares, holders } = await findSources(si, finder, cap.n, o.signal, cap.k);
  o.onProgress?.({ type: 'client:download:holders', holders, shares: shares.size });
  if (shares.size < cap.k) throw new NotEnoughSharesError({ needed: cap.k, found: shares.size, storageIndex: Buffer.from(si).toString('hex') });
  return { size: o.range?.length ?? cap.size, stream: decodeFile(cap, sources, { range: o.range, signal: o.signal, into: o.into }) };
}

/** A whole pack (or a range of it) in one buffer, verified: `into` when given (the caller's, reused), else a new one. */
export async function downloadPack(cap: PackCap, finder: ServerFinder, o: DownloadOptions = {}): Promise<Uint8Array> {
  const size = o.range?.length ?? cap.size;
  const out = o.into ? o.into.subarray(0, size) : new Uint8Array(Buffer.allocUnsafeSlow(size).buffer, 0, size);
  const h = await download(cap, finder, { ...o, into: out }); // the decoder writes `out` in order, yielding views of it
  let at = 0;
  for await (const chunk of h.stream) at += chunk.length;
  if (at !== h.size) throw new NotEnoughSharesError({ needed: cap.k, found: 0, storageIndex: Buffer.from(storageIndexOf(cap)!).toString('hex') });
  return out;
}
