// The pack writer: sealed blobs are appended to an open pack; at PACK_TARGET_BYTES it is sealed and uploaded
// while the next one fills, at most PACK_UPLOADS_IN_FLIGHT at once (then `add` waits: backpressure to the reader
// of files). So that the upload starts early, a run's first packs are smaller (from PACK_FIRST_BYTES, doubling),
// and an open pack that took no blob for PACK_IDLE_SEAL_MS leaves then. A pack has no header: the index says which
// blob is where, and each blob authenticates itself, so peers see only pack sizes, never a chunk's size.
import { PACK_FIRST_BYTES, PACK_IDLE_SEAL_MS, PACK_TARGET_BYTES, PACK_UPLOADS_IN_FLIGHT } from './constants.ts';
import type { IndexEntry } from './index-part.ts';
import type { BlobKind, PackStore } from './types.ts';
import { everyAborted } from '../common/wait.ts';

export interface Packer {
  /**
   * Queue a sealed blob (not copied: the caller must not change it). Resolves once admitted (it waits while
   * too many packs are uploading) to a promise of its index entry, settled when its pack is stored.
   */
  add(id: Uint8Array, kind: BlobKind, sealed: Uint8Array, signal?: AbortSignal): Promise<{ stored: Promise<IndexEntry> }>;
  /**
   * As `add`, for a blob of `length` sealed bytes that `write` puts straight into the pack (no copy of its own).
   * `signal`: the caller's run's (default: the packer's `signal`); a pack's upload is aborted once every blob in it
   * was added under an aborted signal (a pack holding a blob added under none is always uploaded).
   */
  addWith(id: Uint8Array, kind: BlobKind, length: number, write: (dest: Uint8Array) => void, signal?: AbortSignal): Promise<{ stored: Promise<IndexEntry> }>;
  /** Seal the open pack and wait for every upload in flight; throws the first upload error. */
  flush(): Promise<void>;
  /**
   * End a run without storing the open pack: its blobs' `stored` reject with `reason`, and the uploads in flight
   * are waited for (their errors are their blobs'; none is thrown). The packer takes new blobs afterwards.
   */
  abandon(reason: unknown): Promise<void>;
  /** Bytes queued in the open pack. */
  readonly pending: number;
}

interface Waiter {
  id: Uint8Array;
  kind: BlobKind;
  offset: number;
  length: number;
  resolve(e: IndexEntry): void;
  reject(err: unknown): void;
}

export function createPacker(
  store: PackStore,
  o: {
    targetBytes?: number;
    firstBytes?: number;
    inFlight?: number;
    /** Seal the open pack once it took no blob for this long, when an upload slot is free (0: never). */
    idleSealMs?: number;
    /** The signal of blobs added without one (a packer of one run: prune's, an index part's). */
    signal?: AbortSignal;
    onPack?: (bytes: number, blobs: number) => void;
  } = {}
): Packer {
  const target = o.targetBytes ?? PACK_TARGET_BYTES;
  const first = o.firstBytes ?? PACK_FIRST_BYTES;
  let sealedInRun = 0; // packs sealed since the last flush: the next target is first x 2^sealedInRun
  const currentTarget = () => Math.min(target, first * 2 ** Math.min(sealedInRun, 30));
  const maxInFlight = o.inFlight ?? PACK_UPLOADS_IN_FLIGHT;
  const idleSealMs = o.idleSealMs ?? PACK_IDLE_SEAL_MS;
  let idleTimer: ReturnType<typeof setTimeout> | undefined;
  // The open pack: one buffer blobs are sealed into. Buffers of `target` bytes come back to `spare` once the store
  // is done reading them (PackStore.putPack's onConsumed, after the shares are encoded, else when it settles): a
  // backup's packs then reuse one or two buffers instead of allocating (and the garbage collector chasing) 8 MiB
  // per pack, and a pack being uploaded holds its shares, not its buffer too. Released at flush.
  let buf: Uint8Array | null = null;
  let blobs = 0;
  let size = 0;
  const spare: Uint8Array[] = [];
  const take = (need: number): Uint8Array => {
    const want = Math.max(currentTarget(), need);
    if (want === target && spare.length) return spare.pop()!;
    return Buffer.allocUnsafeSlow(want);
  };
  let waiters: Waiter[] = [];
  /** The signals the open pack's blobs were added under; null once one was added without a signal. */
  let signals: Set<AbortSignal> | null = new Set();
  const inFlight = new Set<Promise<void>>();
  let failed: { err: unknown } | null = null;
  const rethrow = () => {
    if (failed) throw failed.err;
  };

  /** Take the open pack's state away (it is sealed, or dropped): the next blob opens a new one. */
  const detachOpen = () => {
    clearTimeout(idleTimer);
    idleTimer = undefined;
    const open = { items: waiters, full: buf, total: size, signals };
    buf = null;
    blobs = 0;
    waiters = [];
    signals = new Set();
    size = 0;
    return open;
  };
  /**
   * A run is over (flushed or abandoned) once its uploads settled: the next pack starts small again, the buffers go
   * back to the system, and the run's upload error is returned to it once, not kept for the next run.
   */
  const endRun = async (): Promise<{ err: unknown } | null> => {
    while (inFlight.size > 0) await Promise.race(inFlight);
    sealedInRun = 0;
    spare.length = 0;
    const f = failed;
    failed = null;
    return f;
  };

  const seal = () => {
    if (blobs === 0 || !buf) return;
    const open = detachOpen();
    const { items, total } = open,
      full = open.full!,
      signal = open.signals ? everyAborted([...open.signals]) : undefined;
    sealedInRun++;
    let given = false;
    const giveBack = () => {
      if (given) return;
      given = true;
      if (full.length === target && spare.length <= maxInFlight) spare.push(full);
    };
    const p = (async () => {
      try {
        const pack = await store.putPack(full.subarray(0, total), { signal, onConsumed: giveBack });
        o.onPack?.(total, items.length);
        for (const w of items) w.resolve({ id: w.id, kind: w.kind, pack, offset: w.offset, length: w.length });
      } catch (err) {
        failed ??= { err };
        for (const w of items) w.reject(err);
      } finally {
        giveBack();
      }
    })();
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  };

  /** PACK_IDLE_SEAL_MS: no blob came for a while; with a slot free the pack leaves now, else it waits for more. */
  const idleSeal = () => {
    if (blobs > 0 && inFlight.size < maxInFlight) seal();
  };

  const packer: Packer = {
    add(id, kind, sealed, signal) {
      return packer.addWith(id, kind, sealed.length, (dest) => dest.set(sealed), signal);
    },
    async addWith(id, kind, length, write, signal) {
      rethrow();
      // Checked again after each wait: another blob may have been added to the next pack meanwhile.
      while (size > 0 && size + length > currentTarget()) {
        seal();
        while (inFlight.size > maxInFlight) await Promise.race(inFlight);
        rethrow();
      }
      buf ??= take(length); // a pack that would overflow was sealed above, so the open one has room
      write(buf.subarray(size, size + length));
      const stored = new Promise<IndexEntry>((resolve, reject) => waiters.push({ id, kind, offset: size, length, resolve, reject }));
      stored.catch(() => {}); // observed by whoever awaits it; never an unhandled rejection when nobody does
      blobs++;
      size += length;
      const s = signal ?? o.signal;
      if (!s) signals = null;
      else signals?.add(s);
      // One timer per open pack, pushed back by each blob (refresh: no new timer per blob of a 50k-file backup).
      if (idleTimer) idleTimer.refresh();
      else if (idleSealMs > 0) {
        idleTimer = setTimeout(idleSeal, idleSealMs);
        idleTimer.unref(); // never what keeps a process alive
      }
      return { stored };
    },
    async flush() {
      seal();
      const f = await endRun();
      if (f) throw f.err;
    },
    async abandon(reason) {
      for (const w of detachOpen().items) w.reject(reason);
      await endRun(); // the uploads' errors were their blobs'
    },
    get pending() {
      return size;
    }
  };
  return packer;
}
