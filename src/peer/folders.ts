// Folders in a running peer: the ObjectStore and folder heads the backup layer needs, built on the
// client (convergent uploads, verified downloads, signed mutable slots), the sync engine with its
// journal, and the read-only operations that need nothing but a cap (snapshots, ls, diff, restore).
import { join, resolve } from 'node:path';
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { P2PBackupError } from '../common/errors.ts';
import { parseCap } from '../caps/index.ts';
import { fetchRecord, publishRecord, slotReadCap, upload, download, type ServerFinder } from '../client/index.ts';
import {
  backup, restore, isPerItem, ls, locate, diff, forget, listSnapshots, commitSnapshot, decodeHead, encodeHead, openBackupCache,
  HeadConflictError, type BackupCache, type FolderHead, type HeadStore, type ObjectStore, type ForgetPolicy,
  type OverwriteMode, type BackupProgress, type DirEntry
} from '../backup/index.ts';
import { SyncJournal, type FolderRecord } from '../backup/journal.ts';
import { SyncEngine, type SyncEvent } from '../backup/sync-engine.ts';

export interface FolderServiceInit {
  home: string;
  finder: ServerFinder;
  encoding: { k: number; n: number; happy: number };
  convergenceSecret: Uint8Array;
  onEvent?: (e: SyncEvent | BackupProgress) => void;
  /** Called once per file object put or fetched through the swarm (metrics). */
  onTransfer?: (kind: 'upload' | 'download') => void;
  /** Called whenever the list of folders changes (the recovery record is republished). */
  onFoldersChanged?: () => void;
  debounceMs?: number;
}

export type FolderService = Awaited<ReturnType<typeof createFolderService>>;

export async function createFolderService(init: FolderServiceInit) {
  const { finder, encoding } = init;
  const store: ObjectStore = {
    async putFile(input, o = {}) {
      const r = await upload(input, finder, { ...encoding, convergenceSecret: init.convergenceSecret, signal: o.signal });
      init.onTransfer?.('upload');
      return { cap: r.cap };
    },
    async getFile(cap, o = {}) {
      init.onTransfer?.('download');
      return download(cap, finder, { signal: o.signal });
    }
  };

  /** The head of a folder as a HeadStore over its mutable slot (write cap: read/write; read cap: read only). */
  const headStore = (cap: string): HeadStore => ({
    async read() {
      const r = await fetchRecord(finder, cap);
      return r ? { seq: r.seq, head: decodeHead(r.payload) } : null;
    },
    async write(head: FolderHead, prevSeq: number | null) {
      try {
        await publishRecord(finder, cap, encodeHead(head), { seq: (prevSeq ?? 0) + 1 });
      } catch (err: any) {
        if (err?.code === 'ERR_STALE_SEQ') throw new HeadConflictError(prevSeq, err.details?.highest ?? null);
        throw err;
      }
    }
  });

  const journal = await SyncJournal.open(join(init.home, 'sync'));
  const cache: BackupCache = await openBackupCache(join(init.home, 'backup-cache'));
  let progress: ((e: BackupProgress) => void) | undefined;

  const engine = new SyncEngine({
    journal,
    async snapshot(rec: FolderRecord, signal) {
      const r = await backup(rec.path, {
        store, cache, signal, excludes: rec.excludes, excludeIfPresent: rec.excludeIfPresent, parent: rec.lastSnapshot?.cap, host: hostname(),
        onProgress: (e) => { progress?.(e); if (!isPerItem(e)) init.onEvent?.(e); } // the event stream gets status lines, not one per file
      });
      return { snapshotCap: r.snapshotCap, time: r.snapshot.time, root: r.root, stats: r.stats };
    },
    async commit(rec, snap) {
      await commitSnapshot(headStore(rec.writeCap), { cap: snap.snapshotCap, time: snap.time });
    },
    onEvent: (e) => init.onEvent?.(e)
  }, { debounceMs: init.debounceMs });

  /** Resolve ROOTCAP (a folder head's read or write cap), a folder path or id: the head's read cap. */
  const headCapOf = async (what: string): Promise<string> => {
    if (what.startsWith('p2pb:')) {
      const c = parseCap(what);
      if (c.type !== 'mr' && c.type !== 'mw') throw new P2PBackupError('ERR_CAP_WRONG_KIND', `a folder root cap (p2pb:mr:…) is needed here, not a "${c.type}" cap`);
      return what;
    }
    return (await engine.find(what)).rootCap;
  };

  const service = {
    store,
    engine,
    journal,
    async start() {
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
        id: randomUUID(), path: resolve(f.path), writeCap: f.writeCap, rootCap: slotReadCap(f.writeCap),
        watch: f.watch, excludes: f.excludes ?? [], state: 'interrupted', pending: 0
      };
      await journal.put(rec);
      return rec;
    },

    /** Record that the folder on disk equals this snapshot (after a restore in place). */
    async markSynced(id: string, snap: { cap: string; time: number }) {
      return journal.update(id, (r) => { r.state = 'in-sync'; r.lastSnapshot = snap; delete r.batch; });
    },

    /** One-shot backup of a folder (registered without watching if new); resolves when the head moved. */
    async backupNow(path: string, o: { excludes?: string[]; excludeIfPresent?: string[]; onProgress?: (e: BackupProgress) => void } = {}) {
      let rec = await engine.addFolder(path, { watch: false, excludes: o.excludes });
      // The rules given with this backup become the folder's rules (as a watched folder keeps them).
      rec = await journal.update(rec.id, (r) => {
        r.excludes = o.excludes ?? [];
        r.excludeIfPresent = o.excludeIfPresent ?? [];
      });
      init.onFoldersChanged?.();
      progress = o.onProgress;
      try {
        return await engine.syncNow(rec.id);
      } finally {
        progress = undefined;
      }
    },

    async snapshots(what: string) {
      const cap = await headCapOf(what);
      const r = await headStore(cap).read();
      return { rootCap: cap, seq: r?.seq ?? 0, snapshots: listSnapshots(r?.head ?? null) };
    },

    /** A snapshot cap from a snapshot or directory cap (as is) or a root cap (its latest snapshot). */
    async resolveSnapshot(cap: string): Promise<string> {
      const c = parseCap(cap);
      if (c.type !== 'mr' && c.type !== 'mw') return cap;
      const { snapshots } = await service.snapshots(cap);
      const latest = snapshots.at(-1);
      if (!latest) throw new P2PBackupError('ERR_NOT_FOUND', 'this folder has no snapshot yet');
      return latest.cap;
    },

    async ls(cap: string, path?: string) {
      return ls(store, await service.resolveSnapshot(cap), path);
    },

    /** The entry of one regular file of a snapshot (for a download through the browser). */
    async fileAt(cap: string, path: string): Promise<DirEntry> {
      const at = await locate(store, await service.resolveSnapshot(cap), path);
      if (at.kind !== 'leaf' || at.entry.type !== 'file') throw new P2PBackupError('ERR_NOT_A_FILE', `not a regular file in the snapshot: ${path}`, { path });
      return at.entry;
    },

    async diff(a: string, b: string) {
      return diff(store, await service.resolveSnapshot(a), await service.resolveSnapshot(b));
    },

    async restore(cap: string, target: string, o: { path?: string; overwrite?: OverwriteMode; preserveSpecial?: boolean; ignoreUmask?: boolean; signal?: AbortSignal; onProgress?: (e: BackupProgress) => void } = {}) {
      const snap = await service.resolveSnapshot(cap);
      const r = await restore(snap, resolve(target), { store, path: o.path, overwrite: o.overwrite, preserveSpecial: o.preserveSpecial, ignoreUmask: o.ignoreUmask, signal: o.signal, onProgress: o.onProgress });
      return { snapshotCap: snap, ...r };
    },

    async forget(idOrPath: string, policy: ForgetPolicy) {
      const rec = await engine.find(idOrPath);
      return forget(headStore(rec.writeCap), policy);
    },

    async stop() {
      await engine.stop();
      await journal.close();
      await cache.close();
    }
  };
  return service;
}
