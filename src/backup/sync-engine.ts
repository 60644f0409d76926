// The sync engine: keeps watched folders mirrored as snapshots, crash-safe.
// Per folder, one batch at a time:
//   1. journal phase `scanning`   (the batch exists; nothing visible has changed)
//   2. phase `uploading`          the incremental backup runs; it returns only when every share of
//                                  the new snapshot is placed on `happy` peers
//   3. phase `committing` + the snapshot cap, persisted BEFORE the head moves
//   4. the folder head is published (one signed record: readers see the old head or the new one)
//   5. state `in-sync`, batch removed from the journal
// After a crash: a batch found in `committing` is committed again (commit is idempotent); any earlier
// phase is marked `interrupted` and a fresh batch resynchronizes from the last committed snapshot.
// Changes are debounced; a periodic full rescan catches events the watcher missed.
import { resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { watch, type FSWatcher } from 'chokidar';
import { P2PBackupError } from '../common/errors.ts';
import { createMutableWriteCap, formatCap, toReadCap } from '../caps/index.ts';
import { faultPoint } from '../common/fault.ts';
import type { FolderRecord, FolderState, SyncJournal } from './journal.ts';
import type { BackupStats } from './types.ts';

export interface SyncDeps {
  journal: SyncJournal;
  /** Make a snapshot of the folder (the incremental backup); resolves once every share is placed. */
  snapshot(rec: FolderRecord, signal: AbortSignal): Promise<{ snapshotCap: string; time: number; root?: string; stats?: BackupStats }>;
  /** Put the snapshot into the folder head. Must be idempotent: after a crash it may run twice. */
  commit(rec: FolderRecord, snapshot: { snapshotCap: string; time: number }, signal: AbortSignal): Promise<void>;
  /**
   * A batch ended without a commit (nothing changed, or it failed or was stopped): let go of what `snapshot`
   * holds until a commit (the repository's backup lock). Its errors are ignored.
   */
  release?(rec: FolderRecord): Promise<void>;
  onEvent?(e: SyncEvent): void;
}

export type SyncEvent =
  | { type: 'sync:folder:state'; id: string; path: string; state: FolderState; error?: string }
  | { type: 'sync:folder:snapshot'; id: string; path: string; snapshotCap: string };

export interface SyncInit {
  /** Quiet time after the last change before a batch starts. */
  debounceMs?: number;
  /** Full rescan period (catches missed events). */
  rescanMs?: number;
  /** A file is considered written when its size has been stable this long (chokidar awaitWriteFinish). */
  writeFinishMs?: number;
}

const DEFAULTS = { debounceMs: 2_000, rescanMs: 10 * 60_000, writeFinishMs: 500 };

class FolderRunner {
  readonly id: string;
  private watcher: FSWatcher | null = null;
  private timer: NodeJS.Timeout | null = null;
  private rescan: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private readonly controller = new AbortController();
  private readonly engine: SyncEngine;

  constructor(engine: SyncEngine, id: string) {
    this.engine = engine;
    this.id = id;
  }

  async startWatching(path: string, o: Required<SyncInit>): Promise<void> {
    this.watcher = watch(path, {
      ignoreInitial: true,
      awaitWriteFinish: { stabilityThreshold: o.writeFinishMs, pollInterval: Math.min(100, o.writeFinishMs) }
    });
    this.watcher.on('all', () => this.changed(o.debounceMs));
    this.watcher.on('error', (err) => this.engine.emitError(this.id, err));
    await new Promise<void>((r) => this.watcher!.once('ready', () => r()));
    this.rescan = setInterval(() => this.trigger(), o.rescanMs);
    this.rescan.unref();
  }

  private changed(debounceMs: number): void {
    void this.engine.bumpPending(this.id);
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.trigger();
    }, debounceMs);
  }

  private forceNext = false;

  /**
   * Run a batch now, or once more after the running one. `force`: make a snapshot even when nothing
   * changed (an explicit backup); watcher, rescan and start-up batches skip unchanged folders.
   */
  trigger(force = false, signal?: AbortSignal): Promise<void> {
    this.forceNext ||= force;
    if (this.running) this.again = true;
    else this.running = this.start();
    const running = this.running;
    if (!signal) return running;
    // The caller who waits for this batch can stop it (an API call whose client hung up): the batch running
    // then stops, and no batch it asked for follows. The watcher's and the rescan's changes come back later.
    const onAbort = () => {
      this.again = false;
      this.forceNext = false;
      this.batch?.abort(signal.reason);
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    return running.finally(() => signal.removeEventListener('abort', onAbort));
  }

  /** The batch running now: stopped by the runner's stop() or by a caller's signal (trigger). */
  private batch: AbortController | null = null;

  private start(): Promise<void> {
    return (async () => {
      do {
        this.again = false;
        const f = this.forceNext;
        this.forceNext = false;
        const batch = (this.batch = new AbortController());
        await this.engine.runBatch(this.id, AbortSignal.any([this.controller.signal, batch.signal]), { force: f }).catch(() => {});
        this.batch = null;
      } while (this.again && !this.controller.signal.aborted);
    })().finally(() => {
      this.running = null;
    });
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    if (this.rescan) clearInterval(this.rescan);
    this.controller.abort(new P2PBackupError('ERR_ABORTED', 'sync stopped'));
    await this.watcher?.close();
    await this.running;
  }
}

export class SyncEngine {
  private readonly deps: SyncDeps;
  private readonly opts: Required<SyncInit>;
  private readonly runners = new Map<string, FolderRunner>();

  constructor(deps: SyncDeps, init: SyncInit = {}) {
    this.deps = deps;
    this.opts = { ...DEFAULTS, ...init };
  }

  /** Recover interrupted batches, then start watching every watched folder. */
  async start(): Promise<void> {
    for (const rec of await this.deps.journal.list()) {
      const runner = this.runnerFor(rec.id);
      if (rec.batch) await this.recover(rec);
      if (rec.watch) await runner.startWatching(rec.path, this.opts);
      // Resynchronize after a crash, and catch up with changes made while the daemon was down.
      if (rec.watch || rec.state === 'interrupted') void runner.trigger();
    }
  }

  private async recover(rec: FolderRecord): Promise<void> {
    const batch = rec.batch!;
    if (batch.phase === 'committing' && batch.snapshotCap) {
      // The snapshot is complete and placed: finish moving the head (idempotent).
      const snap = { snapshotCap: batch.snapshotCap, time: batch.startedAt };
      try {
        await this.deps.commit(rec, snap, new AbortController().signal);
        await this.finish(rec.id, snap);
        return;
      } catch {
        // fall through: mark interrupted; the next batch makes a new snapshot
      }
    }
    await this.setState(rec.id, 'interrupted', (r) => {
      delete r.batch;
    });
  }

  private runnerFor(id: string): FolderRunner {
    let r = this.runners.get(id);
    if (!r) this.runners.set(id, (r = new FolderRunner(this, id)));
    return r;
  }

  async addFolder(path: string, o: { watch: boolean; excludes?: string[] }): Promise<FolderRecord> {
    const abs = resolve(path);
    const st = await stat(abs).catch(() => null);
    if (!st?.isDirectory()) throw new P2PBackupError('ERR_USAGE', `not a directory: ${path}`);
    const existing = (await this.deps.journal.list()).find((f) => f.path === abs);
    if (existing) {
      if (o.watch && !existing.watch) {
        existing.watch = true;
        await this.deps.journal.put(existing);
        await this.runnerFor(existing.id).startWatching(abs, this.opts);
        // The watcher reports only changes from now on: catch up with those made since the last snapshot.
        void this.runnerFor(existing.id).trigger();
      }
      return existing;
    }
    const writeCap = createMutableWriteCap();
    const rec: FolderRecord = {
      id: randomUUID(),
      path: abs,
      writeCap: formatCap(writeCap),
      rootCap: formatCap(toReadCap(writeCap)),
      watch: o.watch,
      excludes: o.excludes ?? [],
      state: 'interrupted',
      pending: 1
    };
    await this.deps.journal.put(rec);
    if (o.watch) {
      await this.runnerFor(rec.id).startWatching(abs, this.opts);
      void this.runnerFor(rec.id).trigger();
    }
    return rec;
  }

  async removeFolder(idOrPath: string): Promise<FolderRecord> {
    const rec = await this.find(idOrPath);
    await this.runners.get(rec.id)?.stop();
    this.runners.delete(rec.id);
    await this.deps.journal.delete(rec.id);
    return rec;
  }

  async find(idOrPath: string): Promise<FolderRecord> {
    const all = await this.deps.journal.list();
    const abs = resolve(idOrPath);
    const rec = all.find((f) => f.id === idOrPath || f.path === abs);
    if (!rec) throw new P2PBackupError('ERR_NOT_FOUND', `no folder ${idOrPath} (see \`p2pbackup watch list\`)`);
    return rec;
  }

  list(): Promise<FolderRecord[]> {
    return this.deps.journal.list();
  }

  /** Run a batch for the folder now and wait for it (and any batch it had to wait behind). */
  async syncNow(idOrPath: string, signal?: AbortSignal): Promise<FolderRecord> {
    const rec = await this.find(idOrPath);
    await this.runnerFor(rec.id).trigger(true, signal);
    signal?.throwIfAborted();
    const after = (await this.deps.journal.get(rec.id))!;
    if (after.state === 'error') throw new P2PBackupError('ERR_SYNC', `backup of ${after.path} failed: ${after.lastError}`, { folder: after.id });
    return after;
  }

  /** One batch; every transition is journaled before the next step starts. */
  async runBatch(id: string, signal: AbortSignal, o: { force?: boolean } = {}): Promise<void> {
    const batch = { id: randomUUID(), startedAt: Date.now(), phase: 'scanning' as const };
    let rec = await this.setState(id, 'scanning', (r) => {
      r.batch = batch;
      r.pending = 0;
    });
    faultPoint('sync:scanning');
    try {
      rec = await this.setState(id, 'uploading', (r) => {
        r.batch = { ...batch, phase: 'uploading' };
      });
      const snap = await this.deps.snapshot(rec, signal);
      if (!o.force && snap.root !== undefined && snap.root === rec.lastSnapshot?.root) {
        // Nothing changed since the last snapshot (same root directory cap): no new snapshot.
        await this.release(rec);
        await this.setState(id, 'in-sync', (r) => {
          delete r.batch;
          delete r.lastError;
          if (snap.stats) r.lastStats = snap.stats;
        });
        return;
      }
      faultPoint('sync:placed'); // every share placed, head not moved yet
      rec = await this.setState(id, 'committing', (r) => {
        r.batch = { ...batch, phase: 'committing', snapshotCap: snap.snapshotCap };
      });
      await this.deps.commit(rec, snap, signal);
      faultPoint('sync:committed'); // head moved, journal not cleaned up yet
      await this.finish(id, snap);
    } catch (err: any) {
      await this.release(rec);
      if (signal.aborted) {
        await this.setState(id, 'interrupted', (r) => {
          delete r.batch;
        }).catch(() => {});
      } else {
        await this.setState(id, 'error', (r) => {
          delete r.batch;
          r.lastError = String(err?.message ?? err);
        }).catch(() => {});
      }
      throw err;
    }
  }

  private async release(rec: FolderRecord): Promise<void> {
    await this.deps.release?.(rec).catch(() => {});
  }

  private async finish(id: string, snap: { snapshotCap: string; time: number; root?: string; stats?: BackupStats }): Promise<void> {
    const rec = await this.setState(id, 'in-sync', (r) => {
      delete r.batch;
      delete r.lastError;
      r.lastSnapshot = { cap: snap.snapshotCap, time: snap.time, ...(snap.root ? { root: snap.root } : {}) };
      if (snap.stats) r.lastStats = snap.stats;
    });
    this.deps.onEvent?.({ type: 'sync:folder:snapshot', id, path: rec.path, snapshotCap: snap.snapshotCap });
  }

  private async setState(id: string, state: FolderState, f: (r: FolderRecord) => void = () => {}): Promise<FolderRecord> {
    const rec = await this.deps.journal.update(id, (r) => {
      r.state = state;
      f(r);
    });
    this.deps.onEvent?.({ type: 'sync:folder:state', id, path: rec.path, state, error: rec.lastError });
    return rec;
  }

  async bumpPending(id: string): Promise<void> {
    await this.deps.journal
      .update(id, (r) => {
        r.pending++;
      })
      .catch(() => {});
  }

  emitError(id: string, err: unknown): void {
    void this.setState(id, 'error', (r) => {
      r.lastError = String((err as Error)?.message ?? err);
    }).catch(() => {});
  }

  async stop(): Promise<void> {
    await Promise.all([...this.runners.values()].map((r) => r.stop()));
    this.runners.clear();
  }
}
