// Download: find who holds shares of a file and decode it from them, verified block by block.
// 1. Holders: the DHT-closest peers to the storage index (where upload put them) plus provider
//    records, each asked LIST; peers that answer first are tried first.
// 2. Every (peer, share) pair becomes a ShareSource; the decoder verifies each block's Merkle path
//    against the cap before use, drops a source that lies or fails, and needs any k good shares.
import { decodeFile, NotEnoughSharesError, type DecodeStream, type ShareSource } from '../format/index.ts';
import { InvalidCapError, parseCap, storageIndexOf } from '../caps/index.ts';
import { withTimeout } from './util.ts';
import type { ClientProgress, ServerFinder, ShareServer } from './types.ts';

const LIST_TIMEOUT_MS = 5_000;

export interface DownloadOptions {
  range?: { offset: number; length: number };
  signal?: AbortSignal;
  onProgress?: (e: ClientProgress) => void;
}

export interface DownloadHandle {
  size: number;
  stream: DecodeStream;
}

/**
 * Every (peer, share) pair holding shares of `si`: LIST on the DHT-closest peers first; provider records
 * are asked only when those hold fewer than `enough` distinct shares (a DHT query per file would
 * dominate the cost of restoring many small files).
 */
export async function findSources(si: Uint8Array, finder: ServerFinder, n: number, signal?: AbortSignal, enough = n): Promise<{ sources: ShareSource[]; shares: Set<number>; holders: number }> {
  const asked = new Set<string>();
  const found: { server: ShareServer; shareNum: number; size: number; order: number }[] = [];
  let order = 0;
  const ask = (servers: ShareServer[]) => Promise.all(servers.filter((s) => !asked.has(s.id)).map(async (server) => {
    asked.add(server.id);
    const list = await withTimeout(server.list(si, { signal }), LIST_TIMEOUT_MS).catch(() => []);
    const o = order++; // answer order: the fastest holders come first
    for (const sh of list) if (Number.isInteger(sh.shareNum) && sh.shareNum >= 0 && sh.shareNum < n) found.push({ server, ...sh, order: o });
  }));
  await ask(await finder.candidates(si, 2 * n, { signal }));
  if (new Set(found.map((f) => f.shareNum)).size < enough && finder.providers) {
    await ask(await finder.providers(si, { signal }).catch(() => []));
  }
  found.sort((a, b) => a.order - b.order);
  const sources: ShareSource[] = found.map(({ server, shareNum, size }) => ({
    shareNum,
    size,
    async read(offset, length, sig) {
      const [bytes] = await server.read(si, shareNum, [[offset, length]], { signal: sig ?? signal });
      return bytes;
    }
  }));
  return { sources, shares: new Set(found.map((f) => f.shareNum)), holders: new Set(found.map((f) => f.server.id)).size };
}

export async function download(capText: string, finder: ServerFinder, o: DownloadOptions = {}): Promise<DownloadHandle> {
  const cap = parseCap(capText);
  if (cap.type === 'lit') return { size: cap.data.length, stream: decodeFile(cap, [], { range: o.range }) };
  if (cap.type !== 'chk') throw new InvalidCapError('ERR_CAP_WRONG_KIND', `a file read cap (p2pb:chk:…) is needed, not a "${cap.type}" cap`, { type: cap.type });
  const si = storageIndexOf(cap)!;
  const { sources, shares, holders } = await findSources(si, finder, cap.n, o.signal, cap.k);
  o.onProgress?.({ type: 'client:download:holders', holders, shares: shares.size });
  if (shares.size < cap.k) throw new NotEnoughSharesError({ needed: cap.k, found: shares.size, storageIndex: Buffer.from(si).toString('hex') });
  return { size: cap.size, stream: decodeFile(cap, sources, { range: o.range, signal: o.signal }) };
}

