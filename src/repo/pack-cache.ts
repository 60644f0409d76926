// Whole packs read recently, per repository (least recently used dropped first, and any pack idle a while).
// Restore, ls and diff read many blobs of the same packs (a directory's files were packed together, trees are
// packed apart from data): one verified read per pack instead of one per blob.
import { formatCap } from '../caps/index.ts';
import { PACK_CACHE_BYTES, PACK_CACHE_IDLE_MS } from './constants.ts';
import type { PackCap, PackStore } from './types.ts';

interface Cached {
  bytes: Promise<Uint8Array>;
  size: number;
  timer?: NodeJS.Timeout;
}

export class PackCache {
  private packs = new Map<string, Cached>();
  private bytes = 0;
  private readonly store: PackStore;
  private readonly limit: number;
  constructor(store: PackStore, limit = PACK_CACHE_BYTES) {
    this.store = store;
    this.limit = limit;
  }

  /** The verified bytes of `pack` (shared by concurrent callers; do not modify them). */
  get(pack: PackCap, signal?: AbortSignal): Promise<Uint8Array> {
    const key = formatCap(pack);
    let e = this.packs.get(key);
    if (e) {
      this.packs.delete(key); // re-insert: most recently used last
    } else {
      // No caller's signal: others may wait for the same pack; each waiter gives up on its own (below).
      e = { bytes: this.store.readPack(pack), size: pack.size };
      this.bytes += pack.size;
      e.bytes.catch(() => this.drop(key));
    }
    this.packs.set(key, e);
    clearTimeout(e.timer);
    e.timer = setTimeout(() => this.drop(key), PACK_CACHE_IDLE_MS);
    e.timer.unref();
    for (const [k] of this.packs) {
      if (this.bytes <= this.limit || k === key) break;
      this.drop(k);
    }
    return abortable(e.bytes, signal);
  }

  clear(): void {
    for (const k of [...this.packs.keys()]) this.drop(k);
  }

  private drop(key: string): void {
    const e = this.packs.get(key);
    if (!e) return;
    clearTimeout(e.timer);
    this.packs.delete(key);
    this.bytes -= e.size;
  }
}

function abortable<T>(p: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return p;
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
