// Whole packs read recently, per repository (least recently used dropped first, and any pack idle a while).
// Restore, ls and diff read many blobs of the same packs (a directory's files were packed together, trees are
// packed apart from data): one verified read per pack instead of one per blob. A pack's buffer comes from a
// BufferPool and goes back to it once the pack is dropped and no caller is still using it.
// A file restored in chunks announces them first (ReadPlan): a pack read only for announced chunks is dropped as
// soon as the last of them was read, instead of staying until the cache is full. Restoring one 1 GiB file then
// holds one or two packs, not four. A pack also read without a plan (a tree, a small file restored whole) stays
// the least-recently-used way: other files may still need it.
import { packKey } from '../caps/index.ts';
import { BufferPool } from '../common/buffer-pool.ts';
import { untilAborted } from '../common/wait.ts';
import { PACK_CACHE_BYTES, PACK_CACHE_IDLE_MS, PACK_POOL_BYTES, PACK_POOL_IDLE_MS, PACK_TARGET_BYTES } from './constants.ts';
import type { PackCap, PackStore } from './types.ts';

interface Cached {
  bytes: Promise<Uint8Array>;
  size: number;
  /** The pooled buffer the pack is read into. */
  into: Uint8Array;
  timer?: NodeJS.Timeout;
  /** Callers between use()'s start and the end of their function. */
  users: number;
  /** Read at least once without a plan since it was loaded: kept until the cache needs the room. */
  unplanned: boolean;
  dropped: boolean;
  returned: boolean;
}

/** Pack buffers of every repository (one restore at a time is the usual case; the pool bounds what is kept). */
// Capacities in quarters of a full pack: the packs of a backup (6 to 8 MiB but for a file's last) all fit any
// buffer of the pool, instead of a 7.5 MiB one turning down the next 7.7 MiB pack.
export const packPool = new BufferPool({ maxBytes: PACK_POOL_BYTES, idleMs: PACK_POOL_IDLE_MS, unit: PACK_TARGET_BYTES / 4 });

export class PackCache {
  private packs = new Map<string, Cached>();
  private bytes = 0;
  private readonly store: PackStore;
  private readonly limit: number;
  private readonly pool: BufferPool;
  /** Reads that plans still expect, per pack (packKey); absent = none. */
  private readonly wanted = new Map<string, number>();
  constructor(store: PackStore, limit = PACK_CACHE_BYTES, pool = packPool) {
    this.store = store;
    this.limit = limit;
    this.pool = pool;
  }

  /**
   * `fn` of the verified bytes of `pack` (read once, shared by concurrent callers). `fn` must not modify them
   * or keep them (or a view of them) after it returns: the buffer is reused once the pack is dropped.
   */
  async use<T>(pack: PackCap, signal: AbortSignal | undefined, fn: (bytes: Uint8Array) => T, plan?: ReadPlan): Promise<T> {
    signal?.throwIfAborted();
    const e = this.entry(pack);
    if (!plan) e.unplanned = true;
    e.users++;
    try {
      return fn(await untilAborted(e.bytes, signal));
    } finally {
      e.users--;
      this.giveBack(e);
    }
  }

  /** A plan for reads about to be made through this cache (see ReadPlan). */
  plan(): ReadPlan {
    return new ReadPlan((key, n, taken) => {
      const v = (this.wanted.get(key) ?? 0) + n;
      if (v > 0) {
        this.wanted.set(key, v);
        return;
      }
      this.wanted.delete(key);
      // Its last announced read was made: a pack nobody read without a plan has nothing left to give.
      if (taken && this.packs.get(key)?.unplanned === false) this.drop(key);
    });
  }

  clear(): void {
    for (const k of [...this.packs.keys()]) this.drop(k);
  }

  private entry(pack: PackCap): Cached {
    const key = packKey(pack);
    let e = this.packs.get(key);
    if (e) {
      this.packs.delete(key); // re-insert: most recently used last
    } else {
      const into = this.pool.take(pack.size);
      // No caller's signal: others may wait for the same pack; each waiter gives up on its own (untilAborted).
      e = { bytes: this.store.readPack(pack, { into }), size: pack.size, into, users: 0, unplanned: false, dropped: false, returned: false };
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
    return e;
  }

  private drop(key: string): void {
    const e = this.packs.get(key);
    if (!e) return;
    clearTimeout(e.timer);
    this.packs.delete(key);
    this.bytes -= e.size;
    e.dropped = true;
    this.giveBack(e);
  }

  /** A dropped pack no caller uses goes back to the pool once its read has succeeded (a failed one may still write it). */
  private giveBack(e: Cached): void {
    if (!e.dropped || e.users > 0 || e.returned) return;
    e.returned = true;
    e.bytes.then(
      () => this.pool.give(e.into),
      () => {}
    );
  }
}

/**
 * Reads a caller is about to make through a PackCache (a file's chunks): `expect` the pack of each before reading
 * any, pass the plan to each read (PackCache.use) and call `took` after it, and `close` when done (also after a
 * failure: what was expected and not read is forgotten). Closing twice is harmless.
 */
export class ReadPlan {
  private readonly left = new Map<string, number>();
  private readonly adjust: (key: string, n: number, taken: boolean) => void;
  constructor(adjust: (key: string, n: number, taken: boolean) => void) {
    this.adjust = adjust;
  }

  expect(pack: PackCap): void {
    const key = packKey(pack);
    this.left.set(key, (this.left.get(key) ?? 0) + 1);
    this.adjust(key, 1, false);
  }

  /** One expected read of `pack` was made (a read it did not expect changes nothing). */
  took(pack: PackCap): void {
    const key = packKey(pack);
    const n = this.left.get(key);
    if (!n) return;
    if (n > 1) this.left.set(key, n - 1);
    else this.left.delete(key);
    this.adjust(key, -1, true);
  }

  close(): void {
    for (const [key, n] of this.left) this.adjust(key, -n, false);
    this.left.clear();
  }
}
