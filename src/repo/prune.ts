// Prune: free what no kept snapshot needs. The caller (src/backup/prune.ts) holds the repository's prune lock
// and passes the ids of every blob that some kept snapshot of any of the owner's folders reaches. Like restic's
// prune, in steps that are each safe to interrupt (fault points name them; a re-run finishes the job):
// 1. Garbage left by an interrupted earlier prune (packs already dropped from the index) is deleted first.
// 2. Every pack the index names is classified by its live bytes: none -> delete; below `repackBelow` of the
//    pack -> rewrite (its live sealed blobs are copied, unchanged, into new packs; no key is needed, every blob
//    still authenticates under its own key); otherwise -> keep.
// 3. The new index (kept locations plus the copies') is stored as new parts and swapped into the repository
//    record by compare-and-swap together with a higher generation and the list of packs to delete (garbage).
//    Before this step nothing in the record changed: an interrupted prune leaves only unreferenced new packs,
//    which no one renews and their holders collect when the lease runs out.
// 4. The garbage packs' holders are told to delete them (owner-only DELETE), then the garbage list is cleared.
import { formatCap } from '../caps/index.ts';
import { faultPoint } from '../common/fault.ts';
import { INDEX_PART_ENTRIES, PRUNE_REPACK_BELOW } from './constants.ts';
import { PruneMissingBlobError } from './errors.ts';
import type { IndexEntry } from './index-part.ts';
import { createPacker } from './packer.ts';
import { storeIndexPart } from './parts.ts';
import type { IndexPartRef } from './record.ts';
import type { Repository } from './repository.ts';
import type { PackCap } from './types.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

export interface PruneOptions {
  /** Rewrite a pack whose live bytes are below this fraction of it (default PRUNE_REPACK_BELOW). */
  repackBelow?: number;
  /** Count only: change nothing. */
  dryRun?: boolean;
  signal?: AbortSignal;
  onProgress?: (e: { type: 'repo:prune:phase'; phase: 'classify' | 'repack' | 'index' | 'delete'; done: number; total: number }) => void;
}

export interface PruneReport {
  packs: number;
  packsKept: number;
  packsRepacked: number;
  packsDeleted: number;
  blobsLive: number;
  blobsDead: number;
  /** Bytes of packs deleted or rewritten, minus the bytes of their rewrites. */
  bytesFreed: number;
  /** Bytes stored in packs before and after. */
  bytesBefore: number;
  bytesAfter: number;
}

export async function prune(repo: Repository, live: ReadonlySet<string>, o: PruneOptions = {}): Promise<PruneReport> {
  const { signal } = o;
  const repackBelow = o.repackBelow ?? PRUNE_REPACK_BELOW;
  if (!o.dryRun) await deleteGarbage(repo, signal);
  await repo.sync(signal);
  const { record } = await repo.readRecord(signal);

  // 2. Classify. Index parts are not blobs the snapshots name: they are replaced by the new index.
  const byPack = new Map<string, { pack: PackCap; live: IndexEntry[]; liveBytes: number }>();
  const seen = new Set<string>();
  let blobsDead = 0;
  for await (const e of repo.index.entries()) {
    signal?.throwIfAborted();
    const key = formatCap(e.pack);
    let p = byPack.get(key);
    if (!p) byPack.set(key, (p = { pack: e.pack, live: [], liveBytes: 0 }));
    const id = hex(e.id);
    if (live.has(id) && !seen.has(id)) {
      seen.add(id);
      p.live.push(e);
      p.liveBytes += e.length;
    } else blobsDead++;
  }
  const missing = [...live].filter((id) => !seen.has(id));
  if (missing.length) throw new PruneMissingBlobError(missing);

  const keep: IndexEntry[] = [];
  const repack: { pack: PackCap; live: IndexEntry[] }[] = [];
  const garbage: PackCap[] = [];
  let bytesBefore = 0;
  for (const p of byPack.values()) {
    bytesBefore += p.pack.size;
    if (p.live.length === 0) garbage.push(p.pack);
    else if (p.liveBytes < repackBelow * p.pack.size) {
      repack.push(p);
      garbage.push(p.pack);
    } else keep.push(...p.live);
  }
  o.onProgress?.({ type: 'repo:prune:phase', phase: 'classify', done: byPack.size, total: byPack.size });
  const report: PruneReport = {
    packs: byPack.size,
    packsKept: byPack.size - garbage.length,
    packsRepacked: repack.length,
    packsDeleted: garbage.length - repack.length,
    blobsLive: seen.size,
    blobsDead,
    bytesFreed: 0,
    bytesBefore,
    bytesAfter: bytesBefore
  };
  const repackedBytes = repack.reduce((a, p) => a + p.live.reduce((b, e) => b + e.length, 0), 0);
  report.bytesAfter = bytesBefore - garbage.reduce((a, p) => a + p.size, 0) + repackedBytes;
  report.bytesFreed = bytesBefore - report.bytesAfter;
  // Nothing to free: the index stays as it is (rewriting it would only churn its parts).
  if (o.dryRun || garbage.length === 0) return report;
  // The index is replaced whole: the packs of its current parts (a pack of their own each) go too.
  const inIndex = new Set(byPack.keys());
  for (const part of record.index) if (!inIndex.has(formatCap(part.pack))) garbage.push(part.pack);

  // 3a. Rewrite: copy live sealed blobs into new packs (data and metadata apart, as when they were stored).
  const copies: Promise<IndexEntry>[] = [];
  const packers = { data: createPacker(repo.packs, { signal }), meta: createPacker(repo.packs, { signal }) };
  let done = 0;
  for (const p of repack) {
    const bytes = await repo.packs.readPack(p.pack, { signal });
    for (const e of p.live) {
      const sealed = bytes.slice(e.offset, e.offset + e.length);
      const { stored } = await packers[e.kind === 'data' ? 'data' : 'meta'].add(e.id, e.kind, sealed);
      copies.push(stored);
    }
    o.onProgress?.({ type: 'repo:prune:phase', phase: 'repack', done: ++done, total: repack.length });
    faultPoint('repo:prune:repacking');
  }
  await packers.data.flush();
  await packers.meta.flush();
  const moved = await Promise.all(copies);
  faultPoint('repo:prune:repacked');

  // 3b. The new index, stored as parts (their packs are new too), then swapped in with the garbage list.
  const entries = [...keep, ...moved];
  const parts: IndexPartRef[] = [];
  for (let i = 0; i < entries.length; i += INDEX_PART_ENTRIES) parts.push(await storeIndexPart(repo.packs, entries.slice(i, i + INDEX_PART_ENTRIES), signal));
  o.onProgress?.({ type: 'repo:prune:phase', phase: 'index', done: parts.length, total: parts.length });
  faultPoint('repo:prune:index-stored');
  const generation = record.generation + 1;
  await repo.updateRecord((r) => {
    if (r.generation !== record.generation) throw new Error('another prune replaced the index meanwhile');
    r.generation = generation;
    r.index = parts;
    const known = new Set(r.garbage.map((g) => formatCap(g)));
    r.garbage.push(...garbage.filter((g) => !known.has(formatCap(g))));
    return r;
  }, signal);
  faultPoint('repo:prune:swapped');
  await repo.index.reset(generation);
  for (const p of parts) await repo.index.addPart(hex(p.id), []);
  await repo.index.addPart('prune', entries);
  repo.clearCache();

  // 4. Tell the holders.
  await deleteGarbage(repo, signal, (d, t) => o.onProgress?.({ type: 'repo:prune:phase', phase: 'delete', done: d, total: t }));
  return report;
}

/** Delete the packs of the record's garbage list, then drop them from it (again on a re-run if interrupted). */
async function deleteGarbage(repo: Repository, signal?: AbortSignal, onProgress?: (done: number, total: number) => void): Promise<void> {
  const { record } = await repo.readRecord(signal);
  if (!record.garbage.length) return;
  let done = 0;
  for (const p of record.garbage) {
    signal?.throwIfAborted();
    await repo.packs.deletePack?.(p, { signal }).catch(() => {}); // best effort: an unrenewed lease ends it anyway
    onProgress?.(++done, record.garbage.length);
    faultPoint('repo:prune:deleting');
  }
  const gone = new Set(record.garbage.map((g) => formatCap(g)));
  await repo.updateRecord(
    (r) => (r.garbage.some((g) => gone.has(formatCap(g))) ? ((r.garbage = r.garbage.filter((g) => !gone.has(formatCap(g)))), r) : null),
    signal
  );
}
