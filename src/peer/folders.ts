// Folders in a running peer: the owner's repository (src/repo) over the swarm (packs through the client, the
// repository record in a mutable slot), readers for other repositories a cap may name, folder heads over
// mutable slots, the sync engine with its journal, and the read-only operations that need nothing but a cap
// (snapshots, ls, diff, restore, a file's content). Backups and restores run as operations (operations.ts):
// listed, followed on the event stream and cancellable by id.
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { NotFoundError } from '../common/errors.ts';
import { untilAborted } from '../common/wait.ts';
import { NotAFileError } from './errors.ts';
import { forEachLimit } from '../common/pool.ts';
import type { Operations } from './operations.ts';
import type { SnapshotListing } from '../api/service.ts';
import { formatCap, parseCap, packKey, storageIndexOf, InvalidCapError, LITERAL_MAX_BYTES, type MutableReadCap, type PackCap } from '../caps/index.ts';
import { ownerKey } from '../crypto/kdf.ts';
import { createChunker, chunkStream } from '../format/chunker.ts';
import {
  fetchRecord,
  publishRecord,
  slotReadCap,
  uploadPack,
  releaseShareMemory,
  downloadPack,
  renewLeases,
  type LeaseReport,
  type ServerFinder,
  StaleSeqError,
  DEFAULT_MIN_REPLICAS
} from '../client/index.ts';
import {
  backup,
  restore,
  isPerItem,
  ls,
  locate,
  diff,
  forget,
  listSnapshots,
  commitSnapshot,
  decodeHead,
  encodeHead,
  openBackupCache,
  HeadConflictError,
  openContent,
  reachableBlobs,
  treePartBlobs,
  type TreePartBlobs,
  capOf,
  contentOf,
  walkTree,
  pruneRepository,
  readSnapshot,
  type BackupCache,
  type BlobSource,
  type FolderHead,
  type HeadStore,
  type ForgetPolicy,
  type OverwriteMode,
  type BackupProgress,
  type DirEntry,
  type Ref
} from '../backup/index.ts';
import { SyncJournal, type FolderRecord } from '../backup/journal.ts';
import { homePaths } from './home.ts';
import { SyncEngine, type SyncEvent } from '../backup/sync-engine.ts';
import {
  Repository,
  repoWriteCap,
  repoReadCap,
  openLocalIndex,
  memoryIndex,
  RecordConflictError,
  encodeChunkList,
  decodeChunkList,
  type PackStore,
  type RecordStore,
  type PruneReport,
  type ChunkRef
} from '../repo/index.ts';

export interface FolderServiceInit {
  home: string;
  finder: ServerFinder;
  encoding: { k: number; n: number; happy: number };
  /** The owner's secret: the repository's slot, blob ids and keys, and the chunker's key derive from it. */
  convergenceSecret: Uint8Array;
  onEvent?: (e: SyncEvent | BackupProgress) => void;
  /** Called once per pack put or fetched through the swarm (metrics). */
  onTransfer?: (kind: 'upload' | 'download') => void;
  /** Called whenever the list of folders changes (the recovery record is republished). */
  onFoldersChanged?: () => void;
  debounceMs?: number;
  /** Where backups and restores are registered (listed, cancellable); without it they run unlisted. */
  operations?: Operations;
  /** Days a lease renewal asks for (the health loop's leaseDays; default 31). */
  leaseDays?: number;
}

const DAY_MS = 24 * 3_600_000;
/**
 * A backup stores every blob the index names as a reference to its pack, so it trusts the index only while the
 * leases of those packs are known to run at least this much longer (BlobIndex.leasesUntil). A device back after
 * weeks away (its leases ran out meanwhile, and its holders may have collected the packs) renews them first, and
 * the packs found lost are distrusted for deduplication: their blobs are stored again (confirmLeases).
 */
export const LEASE_TRUST_MARGIN_MS = 7 * DAY_MS;
/** confirmLeases renews at most this often when its renewal could not vouch for every pack (peers out of reach). */
export const LEASE_CONFIRM_RETRY_MS = 3_600_000;

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
/**
 * Tree parts whose packs packsOf keeps per repository and index generation (a few hundred bytes each: a few packs'
 * names and the references of the parts it names): a walk that leaves more drops the memo.
 */
const TREE_PACKS_KEPT = 200_000;

/** What packsOf keeps of one tree part: the packs of its own blob and its files' blobs, and the parts it names. */
interface TreePartPacks {
  packs: string[];
  trees: Ref[];
}

/** How long a batch that ends without a commit may take to publish what it stored and let go of its lock: ms. */
const RELEASE_TIMEOUT_MS = 15_000;

/** Snapshots whose objects one `snapshots(…, { details })` reads (the latest ones): each is a blob read. */
export const SNAPSHOT_DETAILS_MAX = 200;
const DETAILS_CONCURRENCY = 4;

/**
 * A limit on the bytes per second a caller takes: each `take(n)` waits until n more bytes fit the rate
 * since the first call (no burst beyond one take). Abortable.
 */
export function createThrottle(
  bytesPerSecond: number,
  clock: { now: () => number; sleep: (ms: number, signal?: AbortSignal) => Promise<unknown> } = {
    now: () => performance.now(),
    sleep: (ms, signal) => sleep(ms, undefined, { signal })
  }
) {
  let next = -Infinity; // when the bytes taken so far have been paid for (ms, on the clock's time)
  return async (bytes: number, signal?: AbortSignal): Promise<void> => {
    const t = clock.now();
    next = Math.max(next, t) + (bytes / bytesPerSecond) * 1000;
    if (next - t > 0) await clock.sleep(next - t, signal);
  };
}

/** `src` whose data blobs (file content) arrive no faster than `bytesPerSecond`; trees and lists as they come. */
function throttledSource(src: BlobSource, bytesPerSecond: number): BlobSource {
  const take = createThrottle(bytesPerSecond);
  return {
    reader(cap) {
      const r = src.reader(cap);
      return {
        async loadBlob(kind, ref, o) {
          const bytes = await r.loadBlob(kind, ref, o);
          if (kind === 'data') await take(bytes.length, o?.signal);
          return bytes;
        },
        releaseBlob: r.releaseBlob?.bind(r),
        planReads: r.planReads?.bind(r),
        locateAhead: r.locateAhead?.bind(r)
      };
    }
  };
}

/** A mutable slot as a RecordStore (compare-and-swap on seq; a write cap writes, a read cap only reads). */
export function slotRecordStore(finder: ServerFinder, cap: string, minReplicas?: number): RecordStore {
  return {
    async read(o = {}) {
      const r = await fetchRecord(finder, cap, { signal: o.signal });
      return r ? { seq: r.seq, payload: r.payload } : null;
    },
    async write(payload, prevSeq, o = {}) {
      // publishRecord reads the closest peers' seqs (verified records only) before it writes, and refuses a seq
      // that is not above all of them: the compare-and-swap, without a read of our own first.
      try {
        await publishRecord(finder, cap, payload, { seq: (prevSeq ?? 0) + 1, signal: o.signal, minReplicas });
      } catch (err) {
        if (err instanceof StaleSeqError) throw new RecordConflictError(prevSeq, (err.details as { highest?: number }).highest ?? null);
        throw err;
      }
    }
  };
}

export async function createFolderService(init: FolderServiceInit) {
  const { finder, encoding } = init;
  const secret = init.convergenceSecret;
  const packs: PackStore = {
    async putPack(bytes, o = {}) {
      const r = await uploadPack(bytes, finder, { ...encoding, signal: o.signal, onConsumed: o.onConsumed });
      init.onTransfer?.('upload');
      return r.cap;
    },
    async readPack(cap, o = {}) {
      init.onTransfer?.('download');
      return downloadPack(cap, finder, { range: o.range, signal: o.signal, into: o.into });
    },
    release: releaseShareMemory,
    async deletePack(cap, o = {}) {
      const si = storageIndexOf(cap)!;
      for (const s of await finder.candidates(si, 2 * cap.n, { signal: o.signal })) {
        for (const { shareNum } of await s.list(si, { signal: o.signal }).catch(() => [])) {
          if (!s.delete) continue;
          const gone = await s.delete(si, shareNum, { signal: o.signal }).then(
            () => true,
            () => false
          );
          if (gone) await Promise.resolve(finder.onDeleted?.({ peer: s.id, si, shareNum })).catch(() => {});
        }
      }
    }
  };
  const ownWrite = repoWriteCap(secret);
  const ownRead = repoReadCap(secret);
  const ownReadText = formatCap(ownRead);
  // The record is as safe as the packs it lists when it is on `happy` peers (a small swarm has fewer than 3).
  const ownRecord = slotRecordStore(finder, formatCap(ownWrite), Math.min(DEFAULT_MIN_REPLICAS, encoding.happy));
  const repo = new Repository({
    packs,
    record: ownRecord,
    readCap: ownRead,
    secret,
    index: await openLocalIndex(homePaths(init.home).repoIndex)
  });
  const ownRepo = repo;
  const chunker = createChunker(ownerKey(secret, 'chunker'));

  /** Readers of other owners' repositories (a cap handed to us), by read cap, in memory. */
  const readers = new Map<string, Repository>();
  // By repository, for one index generation (a prune moves blobs): each tree part's packs (packsOf). A snapshot
  // shares most of its trees with the one before, so the health loop's walk of a new snapshot reads only the
  // trees that changed and locates only their blobs.
  const treePacks = new WeakMap<Repository, { generation: number; parts: Map<string, TreePartPacks>; packs: Map<string, PackCap> }>();
  /** The packs of every blob under a snapshot's root tree part, through the memo. */
  const packsUnderRoot = async (reader: Repository, repoCap: MutableReadCap, root: Ref, signal?: AbortSignal): Promise<Map<string, PackCap>> => {
    const generation = await reader.index.generation();
    let memo = treePacks.get(reader);
    if (!memo || memo.generation !== generation) {
      memo = { generation, parts: new Map(), packs: new Map() };
      treePacks.set(reader, memo);
    }
    const out = new Map<string, PackCap>();
    const visited = new Set<string>();
    const located = new Set<string>(); // file blobs of this walk's new parts: a chunk list is read once
    // One height at a time: the parts not in the memo are read, then all their blobs located at once.
    for (let level: Ref[] = [root]; level.length;) {
      signal?.throwIfAborted();
      const here: string[] = [];
      const fresh: { id: string; p: TreePartBlobs }[] = [];
      for (const r of level) {
        const id = hex(r.id);
        if (visited.has(id)) continue;
        visited.add(id);
        here.push(id);
        if (memo.parts.has(id)) continue;
        const p = await treePartBlobs(reader, repoCap, r, { signal, seen: (b) => located.has(b) });
        for (const b of p.ids) located.add(b);
        fresh.push({ id, p });
      }
      const keys = await reader.locatePacks(
        fresh.flatMap((f) => f.p.ids),
        memo.packs,
        signal
      );
      let i = 0;
      for (const { id, p } of fresh) {
        const packs = new Set<string>();
        for (let j = 0; j < p.ids.length; j++, i++) packs.add(keys[i]);
        memo.parts.set(id, { packs: [...packs], trees: p.trees });
      }
      const next: Ref[] = [];
      for (const id of here) {
        const m = memo.parts.get(id)!;
        for (const key of m.packs) out.set(key, memo.packs.get(key)!);
        next.push(...m.trees);
      }
      level = next;
    }
    // A tree too big to keep (a crafted snapshot behind a cap someone handed us) is not kept past its walk.
    if (memo.parts.size > TREE_PACKS_KEPT) treePacks.delete(reader);
    return out;
  };
  // By cap object too: a tree part's entries share one, and formatCap (a checksum each) ran once per file restored.
  const readerOf = new WeakMap<MutableReadCap, Repository>();
  const src: BlobSource = {
    reader(cap: MutableReadCap) {
      const known = readerOf.get(cap);
      if (known) return known;
      const text = formatCap(cap);
      let r = text === ownReadText ? repo : readers.get(text);
      if (!r) readers.set(text, (r = new Repository({ packs, record: slotRecordStore(finder, text), readCap: cap, index: memoryIndex() })));
      readerOf.set(cap, r);
      return r;
    }
  };

  /**
   * The heads this device last wrote (by write cap; one per folder it writes, then kept current by its reads): what
   * a head write builds on unread. A head another device moved since refuses the write (HeadConflictError).
   */
  const knownHeads = new Map<string, { seq: number; head: FolderHead }>();
  /** The head of a folder as a HeadStore over its mutable slot (write cap: read/write; read cap: read only). */
  const headStore = (cap: string): HeadStore => ({
    async read() {
      const r = await fetchRecord(finder, cap);
      const read = r ? { seq: r.seq, head: decodeHead(r.payload) } : null;
      if (knownHeads.has(cap)) {
        if (read) knownHeads.set(cap, structuredClone(read));
        else knownHeads.delete(cap);
      }
      return read;
    },
    async write(head: FolderHead, prevSeq: number | null) {
      const payload = encodeHead({ repo: ownReadText, ...head });
      try {
        await publishRecord(finder, cap, payload, { seq: (prevSeq ?? 0) + 1, minReplicas: Math.min(DEFAULT_MIN_REPLICAS, encoding.happy) });
      } catch (err: any) {
        knownHeads.delete(cap);
        if (err?.code === 'ERR_STALE_SEQ') throw new HeadConflictError(prevSeq, err.details?.highest ?? null);
        throw err;
      }
      knownHeads.set(cap, { seq: (prevSeq ?? 0) + 1, head: decodeHead(payload) });
    },
    known: () => structuredClone(knownHeads.get(cap) ?? null)
  });

  /** Run `fn` as a registered operation when there is a registry (its signal: the operation's, else the caller's). */
  const asOperation = <T>(
    spec: Parameters<Operations['run']>[0],
    fn: (signal: AbortSignal | undefined, status: (e: BackupProgress) => void) => Promise<T>
  ): Promise<T> => (init.operations ? init.operations.run(spec, (op) => fn(op.signal, op.status)) : fn(spec.signal, () => {}));

  const journal = await SyncJournal.open(homePaths(init.home).sync);
  const cache: BackupCache = await openBackupCache(homePaths(init.home).backupCache);
  let progress: ((e: BackupProgress) => void) | undefined;

  const engine = new SyncEngine(
    {
      journal,
      snapshot(rec: FolderRecord, engineSignal) {
        return asOperation(
          { kind: 'backup', origin: 'sync', title: `Backup of ${rec.path}`, folder: rec.path, signal: engineSignal },
          async (signal = engineSignal, status) => {
            // A backup shares the repository with other backups; a prune (on any device of the owner) excludes it.
            // Blobs other devices of the owner published since: not stored again (the lock's record is current).
            await repo.sync(signal, await repo.lock('backup', signal));
            await confirmLeases(signal);
            const r = await backup(rec.path, {
              repo,
              chunker,
              cache,
              signal,
              excludes: rec.excludes,
              excludeIfPresent: rec.excludeIfPresent,
              parent: rec.lastSnapshot?.cap,
              host: hostname(),
              onProgress: (e) => {
                progress?.(e);
                if (!isPerItem(e)) {
                  status(e);
                  init.onEvent?.(e);
                }
              } // the event stream gets status lines, not one per file
            });
            return { snapshotCap: r.snapshotCap, time: r.snapshot.time, root: r.root, stats: r.stats };
          }
        );
      },
      async commit(rec, snap) {
        // The head names blobs this device indexed: publish them (other devices, prune and readers need them),
        // in one record write that registers the folder and releases the lock once the head is written.
        await repo.publish({
          unlock: true,
          folder: rec.rootCap,
          alongside: () => commitSnapshot(headStore(rec.writeCap), { cap: snap.snapshotCap, time: snap.time })
        });
      },
      async release() {
        // No commit to publish and unlock: the blobs this batch stored are published (a later backup on any
        // device reuses them, a prune reclaims them) and the lock let go. Before, the lock stayed, refreshed for
        // as long as the daemon ran, and no other device of the owner could prune.
        // Bounded: a daemon stopping (its batch stopped) waits for this.
        await repo.publish({ unlock: true, signal: AbortSignal.timeout(RELEASE_TIMEOUT_MS) }).catch(() => repo.unlock(AbortSignal.timeout(RELEASE_TIMEOUT_MS)));
      },
      onEvent: (e) => init.onEvent?.(e)
    },
    { debounceMs: init.debounceMs }
  );

  /**
   * Leases renewed (asked to run until `until`) on `asked`, which holds at least every pack the index names (`r`):
   * the packs found lost are distrusted for deduplication (a backup stores their blobs again, and the new locations
   * replace theirs; reads still try them: a pack wrongly found lost goes on serving), those renewed somewhere are
   * trusted again, and once every pack but the lost was renewed somewhere, the index's packs are known to run until
   * `until` (`vouched`). `distrusted`: whether some pack was newly distrusted.
   */
  async function settleLeases(r: LeaseReport, until: number, asked: Iterable<string>): Promise<{ distrusted: boolean; vouched: boolean }> {
    const distrusted = r.lost.length ? await repo.index.distrust(r.lost.map((c) => packKey(parseCap(c) as PackCap))) : false;
    const none = new Set(r.none);
    const held: string[] = [];
    for (const c of new Set(asked)) {
      if (none.has(c)) continue;
      const cap = parseCap(c);
      if (cap.type === 'pack') held.push(packKey(cap));
    }
    await repo.index.trust(held);
    const vouched = r.none.length === r.lost.length;
    if (vouched) await repo.index.setLeasesUntil(until);
    return { distrusted, vouched };
  }

  /** When confirmLeases last renewed without vouching for every pack (0: it did, or never ran). */
  let unvouchedAt = 0;
  /** The confirmation running (backups of several folders wait for one renewal). */
  let confirming: Promise<void> | null = null;
  /**
   * Before a backup: the index's packs renewed first if their leases are not known to run LEASE_TRUST_MARGIN_MS more
   * (half a lease when leases are shorter than two margins: else every backup would renew).
   */
  async function confirmLeases(signal?: AbortSignal): Promise<void> {
    const t = Date.now();
    const lease = (init.leaseDays ?? 31) * DAY_MS;
    const margin = Math.min(LEASE_TRUST_MARGIN_MS, lease / 2);
    if ((await repo.index.leasesUntil()) >= t + margin || t - unvouchedAt < LEASE_CONFIRM_RETRY_MS) return;
    // Not under the first caller's signal: the backups waiting for it each give up on their own (untilAborted).
    // A renewal that fails as a whole (no peer found) does not fail the backup: it is tried again within the hour,
    // and the backup meets the same swarm.
    confirming ??= (async () => {
      const until = t + lease;
      const packs = await service.indexedPacks();
      const r = await renewLeases(packs, finder, { until });
      unvouchedAt = (await settleLeases(r, until, packs)).vouched ? 0 : t;
    })()
      .catch(() => {
        unvouchedAt = t;
      })
      .finally(() => (confirming = null));
    await untilAborted(confirming, signal);
  }

  /** Resolve ROOTCAP (a folder head's read or write cap), a folder path or id: the head's read cap. */
  const headCapOf = async (what: string): Promise<string> => {
    if (what.startsWith('p2pb:')) {
      const c = parseCap(what);
      if (c.type !== 'mr' && c.type !== 'mw')
        throw new InvalidCapError('ERR_CAP_WRONG_KIND', `a folder root cap (p2pb:mr:…) is needed here, not a "${c.type}" cap`, { type: c.type });
      return what;
    }
    return (await engine.find(what)).rootCap;
  };

  const service = {
    repo,
    /** The repository record's read cap (its slot's lease is renewed with the folder heads). */
    repoCap: ownReadText,
    src,
    engine,
    journal,
    async start() {
      // Blobs stored before a crash but not yet published are published now (their packs are in the swarm).
      await repo.publish({ unlock: true }).catch(() => {});
      await engine.start();
    },

    async addFolder(path: string, o: { watch: boolean; excludes?: string[] }) {
      const rec = await engine.addFolder(path, o);
      init.onFoldersChanged?.();
      return rec;
    },
    async removeFolder(idOrPath: string) {
      const rec = await engine.removeFolder(idOrPath);
      init.onFoldersChanged?.();
      return rec;
    },
    listFolders: () => engine.list(),

    /** Register a folder whose head already exists (device recovery): same write cap, same root cap. */
    async adopt(f: { path: string; writeCap: string; excludes?: string[]; watch: boolean }) {
      const existing = (await journal.list()).find((r) => r.path === resolve(f.path));
      if (existing) return existing;
      const rec: FolderRecord = {
        id: randomUUID(),
        path: resolve(f.path),
        writeCap: f.writeCap,
        rootCap: slotReadCap(f.writeCap),
        watch: f.watch,
        excludes: f.excludes ?? [],
        state: 'interrupted',
        pending: 0
      };
      await journal.put(rec);
      return rec;
    },

    /** Record that the folder on disk equals this snapshot (after a restore in place). */
    async markSynced(id: string, snap: { cap: string; time: number }) {
      return journal.update(id, (r) => {
        r.state = 'in-sync';
        r.lastSnapshot = snap;
        delete r.batch;
      });
    },

    /**
     * One-shot backup of a folder (registered without watching if new); resolves when the head moved. `signal`
     * (the API call's: its client hung up) stops the batch of this folder that is running.
     */
    async backupNow(
      path: string,
      o: { excludes?: string[]; excludeIfPresent?: string[]; onProgress?: (e: BackupProgress) => void; signal?: AbortSignal } = {}
    ) {
      let rec = await engine.addFolder(path, { watch: false, excludes: o.excludes });
      // The rules given with this backup become the folder's rules (as a watched folder keeps them).
      rec = await journal.update(rec.id, (r) => {
        r.excludes = o.excludes ?? [];
        r.excludeIfPresent = o.excludeIfPresent ?? [];
      });
      init.onFoldersChanged?.();
      progress = o.onProgress;
      try {
        return await engine.syncNow(rec.id, o.signal);
      } finally {
        progress = undefined;
      }
    },

    async snapshots(
      what: string,
      o: { details?: boolean; signal?: AbortSignal } = {}
    ): Promise<{ rootCap: string; seq: number; snapshots: SnapshotListing[] }> {
      const cap = await headCapOf(what);
      const r = await headStore(cap).read();
      const snapshots: SnapshotListing[] = listSnapshots(r?.head ?? null);
      if (!o.details) return { rootCap: cap, seq: r?.seq ?? 0, snapshots };
      // Each snapshot object is read for its stats (files, bytes, bytes added): the latest ones only.
      const detailed = snapshots.map((s) => ({ ...s }));
      await forEachLimit(detailed.slice(-SNAPSHOT_DETAILS_MAX), DETAILS_CONCURRENCY, async (s) => {
        try {
          const snap = await readSnapshot(src, s.cap, o.signal);
          s.stats = snap.stats;
          s.host = snap.host;
          if (snap.label !== undefined) s.label = snap.label;
        } catch (err) {
          o.signal?.throwIfAborted();
          s.error = (err as Error).message;
        }
      });
      return { rootCap: cap, seq: r?.seq ?? 0, snapshots: detailed };
    },

    /** A snapshot cap from a snapshot or tree cap (as is) or a root cap (its latest snapshot). */
    async resolveSnapshot(cap: string): Promise<string> {
      const c = parseCap(cap);
      if (c.type !== 'mr' && c.type !== 'mw') return cap;
      const { snapshots } = await service.snapshots(cap);
      const latest = snapshots.at(-1);
      if (!latest) throw new NotFoundError('this folder has no snapshot yet');
      return latest.cap;
    },

    async ls(cap: string, path?: string) {
      return ls(src, await service.resolveSnapshot(cap), path);
    },

    /** The entry of one regular file of a snapshot (for a download through the browser). */
    async fileAt(cap: string, path: string): Promise<DirEntry> {
      const at = await locate(src, await service.resolveSnapshot(cap), path);
      if (at.kind !== 'leaf' || at.entry.type !== 'file') throw new NotAFileError(path);
      return at.entry;
    },

    /** A file's content (an entry of a tree, or a file cap alone: its size comes from the content), verified. */
    async openFile(entry: { cap: string; size?: number }, o: { signal?: AbortSignal } = {}) {
      return openContent(src, entry, o.signal, { whole: false });
    },

    /** Store one file's content in the repository (chunked, deduplicated, published); its file cap. */
    /**
     * Store one file's content in the repository (chunked, deduplicated, published); its file cap, and where
     * the shares of its content packs went. `encoding` other than the peer's codes this file's packs so.
     */
    async putFile(stream: AsyncIterable<Uint8Array>, o: { signal?: AbortSignal; encoding?: { k: number; n: number; happy: number } } = {}) {
      const placed: { si: string; pack: string; placements: Record<string, string[]>; happiness: number }[] = [];
      const enc = o.encoding ?? encoding;
      // A repository view of its own for this put: same index and record, packs coded as asked, placements kept.
      const repo = new Repository({
        packs: {
          ...packs,
          async putPack(bytes, po = {}) {
            const r = await uploadPack(bytes, finder, { ...enc, signal: po.signal, onConsumed: po.onConsumed });
            init.onTransfer?.('upload');
            placed.push({ si: r.storageIndex, pack: r.capText, placements: r.placements, happiness: r.happiness });
            return r.cap;
          }
        },
        record: slotRecordStore(finder, formatCap(ownWrite), Math.min(DEFAULT_MIN_REPLICAS, enc.happy)),
        readCap: ownRead,
        secret,
        index: ownRepo.index
      });
      const refs: ChunkRef[] = [];
      let size = 0,
        blobsNew = 0;
      const stored: Promise<void>[] = [];
      const before = { sealed: repo.stats.sealedNew, packs: repo.stats.packs };
      let first: Uint8Array | null = null; // held back: content of at most LITERAL_MAX_BYTES lives in its cap
      const save = async (chunk: Uint8Array) => {
        const [r] = await repo.saveBlobs('data', [chunk], { signal: o.signal });
        refs.push({ ...r.ref, size: chunk.length });
        stored.push(r.stored);
        if (r.isNew) blobsNew++;
      };
      for await (const chunk of chunkStream(stream, chunker, { signal: o.signal })) {
        size += chunk.length;
        if (first === null && refs.length === 0) {
          first = chunk;
          continue;
        }
        if (first) {
          await save(first);
          first = null;
        }
        await save(chunk);
      }
      let cap: string;
      if (first && first.length <= LITERAL_MAX_BYTES) {
        cap = formatCap({ type: 'lit', data: first });
      } else if (first) {
        await save(first);
        cap = capOf(ownRead, { kind: 'data', ...refs[0] });
      } else if (refs.length === 0) {
        cap = formatCap({ type: 'lit', data: new Uint8Array(0) });
      } else if (refs.length === 1) {
        cap = capOf(ownRead, { kind: 'data', ...refs[0] });
      } else {
        const [l] = await repo.saveBlobs('list', [encodeChunkList(refs)], { signal: o.signal });
        stored.push(l.stored);
        if (l.isNew) blobsNew++;
        cap = capOf(ownRead, { kind: 'list', ...l.ref });
      }
      await repo.flush();
      await Promise.all(stored);
      const content = [...placed];
      await repo.publish({ signal: o.signal });
      return {
        cap,
        size,
        blobsNew,
        bytesStored: repo.stats.sealedNew - before.sealed,
        packs: content.length,
        storageIndex: content[0]?.si ?? null,
        pack: content[0]?.pack ?? null,
        placements: content[0]?.placements ?? {},
        happiness: content[0]?.happiness ?? 0,
        packCaps: content.map((p) => p.pack)
      };
    },

    async diff(a: string, b: string) {
      return diff(src, await service.resolveSnapshot(a), await service.resolveSnapshot(b));
    },

    async restore(
      cap: string,
      target: string,
      o: {
        path?: string;
        overwrite?: OverwriteMode;
        preserveSpecial?: boolean;
        ignoreUmask?: boolean;
        limitBytesPerSecond?: number;
        signal?: AbortSignal;
        onProgress?: (e: BackupProgress) => void;
      } = {}
    ) {
      // The folder, for the operation's title: by its root cap, or its latest snapshot's cap (the browser's default).
      const folder = (await engine.list()).find((f) => f.rootCap === cap || f.lastSnapshot?.cap === cap)?.path;
      const what = `${folder ?? 'a snapshot'}${o.path ? ` (${o.path})` : ''}`;
      return asOperation(
        { kind: 'restore', origin: 'api', title: `Restore of ${what} into ${resolve(target)}`, folder, signal: o.signal },
        async (signal, status) => {
          const snap = await service.resolveSnapshot(cap);
          const from = o.limitBytesPerSecond ? throttledSource(src, o.limitBytesPerSecond) : src;
          const r = await restore(snap, resolve(target), {
            src: from,
            path: o.path,
            overwrite: o.overwrite,
            preserveSpecial: o.preserveSpecial,
            ignoreUmask: o.ignoreUmask,
            signal,
            onProgress: (e) => {
              status(e);
              o.onProgress?.(e);
            }
          });
          return { snapshotCap: snap, ...r };
        }
      );
    },

    async forget(idOrPath: string, policy: ForgetPolicy, o: { prune?: boolean; signal?: AbortSignal } = {}) {
      const rec = await engine.find(idOrPath);
      const decision = await forget(headStore(rec.writeCap), policy);
      return o.prune ? { ...decision, prune: await service.prune({ signal: o.signal }) } : decision;
    },

    /**
     * Free what no kept snapshot of any of the owner's folders needs (every device's folders: the repository
     * record lists them). Holds the repository's prune lock; refuses while backups hold theirs.
     */
    async prune(o: { dryRun?: boolean; signal?: AbortSignal } = {}): Promise<PruneReport> {
      const report = await pruneRepository(
        repo,
        src,
        async (recorded) => {
          const listed = new Set(recorded);
          const folders = new Set([...recorded, ...(await engine.list()).map((f) => f.rootCap)]);
          const snaps: string[] = [];
          for (const f of folders) {
            const h = await headStore(f).read();
            // A folder the record lists whose head cannot be found stops the prune: its blobs would look dead.
            if (!h && listed.has(f))
              throw new NotFoundError('a folder of this repository has no readable head right now; prune stopped without deleting anything');
            if (!h || h.head.repo !== ownReadText) continue; // never backed up, or another repository's folder
            snaps.push(...h.head.snapshots.map((s) => s.cap));
          }
          return snaps;
        },
        { dryRun: o.dryRun, signal: o.signal }
      );
      if (!o.dryRun) await cache.clear(); // cached file contents may name freed blobs: re-read once rather than trust them
      return report;
    },

    /** Every pack a cap needs (snapshot, tree, file, folder root cap: all its kept snapshots, or a pack cap). */
    async packsOf(capText: string, o: { signal?: AbortSignal } = {}): Promise<{ snapshots: string[]; packs: string[] }> {
      const c = parseCap(capText);
      if (c.type === 'pack') return { snapshots: [], packs: [capText] };
      if (c.type === 'lit') return { snapshots: [], packs: [] };
      let snapshots: string[] = [];
      let reader: Repository;
      let ids: Set<string>;
      if (c.type === 'mr' || c.type === 'mw') {
        snapshots = (await service.snapshots(capText)).snapshots.map((s) => s.cap);
        if (!snapshots.length) return { snapshots, packs: [] };
        const first = contentOf(snapshots[0], ['snapshot']);
        if (first.kind === 'lit') return { snapshots, packs: [] };
        reader = src.reader(first.repo) as Repository;
        ids = (await reachableBlobs(src, snapshots, { signal: o.signal })).ids;
      } else if (c.type === 'blob') {
        reader = src.reader(c.repo) as Repository;
        if (c.kind === 'snapshot') {
          snapshots = [capText];
          // Its trees and files: through the memo of tree parts (only the parts a walk has not seen are read).
          const root = contentOf((await readSnapshot(src, capText, o.signal)).root, ['tree']);
          const under = root.kind === 'lit' ? new Map<string, PackCap>() : await packsUnderRoot(reader, c.repo, root, o.signal);
          const packs = new Map([...under, ...(await packsOfIds(reader, [hex(c.id)], o.signal))]);
          return { snapshots, packs: [...packs.values()].map(formatCap) };
        }
        ids = await blobsUnder(capText);
      } else {
        throw new InvalidCapError('ERR_CAP_WRONG_KIND', `a "${c.type}" cap names nothing to check`, { type: c.type });
      }
      return { snapshots, packs: [...(await packsOfIds(reader, ids, o.signal)).values()].map(formatCap) };
    },

    /**
     * Which index the pack lists of packsOf come from: a prune (this device's or another's, learnt by the sync
     * this does) rewrites packs and moves kept blobs into new ones, and gives the index a new generation.
     */
    async packsGeneration(o: { signal?: AbortSignal } = {}): Promise<number> {
      await repo.sync(o.signal);
      return repo.index.generation();
    },

    /** The packs of the owner's index parts (renewed with everything else). */
    async indexPacks(): Promise<string[]> {
      return (await repo.readRecord()).record.index.map((p) => formatCap(p.pack));
    },

    settleLeases,
    confirmLeases,

    /**
     * Every pack the local index names (as of its last sync), whether or not a kept snapshot needs it: a backup
     * stores a blob the index knows by reference to its pack, so a pack the index names must not run out of
     * lease (renewed until a prune drops it from the index and deletes it).
     */
    async indexedPacks(o: { signal?: AbortSignal } = {}): Promise<string[]> {
      const packs = new Map<string, PackCap>();
      for await (const e of repo.index.entries()) {
        o.signal?.throwIfAborted();
        const key = packKey(e.pack);
        if (!packs.has(key)) packs.set(key, e.pack);
      }
      return [...packs.values()].map(formatCap);
    },

    async stop() {
      await engine.stop();
      await journal.close();
      await cache.close();
      await repo.close();
      for (const r of readers.values()) await r.close();
    }
  };

  /** The packs that hold blobs `ids` (hex), by pack (a pack holds many blobs: its cap is formatted once, later). */
  async function packsOfIds(reader: Repository, ids: Iterable<string>, signal?: AbortSignal): Promise<Map<string, PackCap>> {
    const packs = new Map<string, PackCap>();
    await reader.locatePacks([...ids], packs, signal);
    return packs;
  }

  /** Blob ids under a tree or file cap: the blob itself, a list's chunks, a tree's whole subtree. */
  async function blobsUnder(capText: string): Promise<Set<string>> {
    const c = contentOf(capText, ['data', 'list', 'tree']);
    if (c.kind === 'lit') return new Set();
    if (c.kind === 'tree') {
      // A tree cap: walk it as the root of a snapshot would be.
      const out = new Set<string>([hex(c.id)]);
      for await (const { entry } of walkTree(src, capText)) {
        if (entry.type === 'symlink') continue;
        for (const id of await blobsUnder(entry.cap!)) out.add(id);
      }
      return out;
    }
    const out = new Set<string>([hex(c.id)]);
    if (c.kind === 'list') {
      const list = decodeChunkList(await src.reader(c.repo).loadBlob('list', c), undefined);
      for (const ch of list) out.add(hex(ch.id));
    }
    return out;
  }
  return service;
}

export type FolderService = Awaited<ReturnType<typeof createFolderService>>;
