// Packs: many small objects stored as one immutable file, each named by a slice cap (offset, length) of it.
// A file stored alone costs a round of n share streams, n share files and their fsyncs on the peers,
// whatever its size: for a tree of small files that, not the bytes, is the cost (restic packs blobs for the
// same reason). The backup layer packs small files and directory objects; everything else stays one file.
// - Writer: objects are appended to an open pack; at PACK_TARGET_BYTES it is sealed and uploaded while the
//   next one fills (at most PACK_UPLOADS_IN_FLIGHT at once, then `add` waits). A pack holding one object
//   yields that object's own cap (no slice), so an object stored alone is an ordinary file.
// - Reader: `openContent` reads a slice from a whole-pack cache (packs are read once, not once per file);
//   packs larger than PACK_CACHE_MAX_PACK_BYTES fall back to a range read through the store.
import { formatCap, LITERAL_MAX_BYTES, parseCap } from '../caps/index.ts';
import { InvalidObjectError } from './errors.ts';
import { PACK_CACHE_BYTES, PACK_CACHE_IDLE_MS, PACK_CACHE_MAX_PACK_BYTES, PACK_TARGET_BYTES, PACK_UPLOADS_IN_FLIGHT } from './constants.ts';
import { bytesInput } from '../format/index.ts';
import type { ObjectStore } from './types.ts';

export interface PackWriter {
  /**
   * Queue `bytes` (not copied: the caller must not change them) into the open pack. Resolves once admitted
   * (it waits while too many packs are uploading) to `{ cap }`, a promise of the object's cap that
   * settles when its pack is stored (or rejects with the store's error).
   */
  add(bytes: Uint8Array): Promise<{ cap: Promise<string> }>;
  /** Seal the open pack and wait for every upload in flight; throws the first upload error. */
  flush(): Promise<void>;
}

interface Waiter { offset: number; length: number; resolve(cap: string): void; reject(err: unknown): void }

export function createPackWriter(store: ObjectStore, o: { targetBytes?: number; inFlight?: number; signal?: AbortSignal; onUpload?: (kind: 'pack' | 'single', bytes: number) => void } = {}): PackWriter {
  const target = o.targetBytes ?? PACK_TARGET_BYTES;
  const maxInFlight = o.inFlight ?? PACK_UPLOADS_IN_FLIGHT;
  let parts: Uint8Array[] = [];
  let size = 0;
  let waiters: Waiter[] = [];
  const inFlight = new Set<Promise<void>>();
  let failed: { err: unknown } | null = null;
  const rethrow = () => { if (failed) throw failed.err; };

  const seal = () => {
    if (parts.length === 0) return;
    const items = waiters, chunks = parts, total = size;
    parts = []; waiters = []; size = 0;
    const bytes = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, total);
    const p = (async () => {
      try {
        const { cap } = await store.putFile(bytesInput(bytes), { signal: o.signal });
        o.onUpload?.(items.length === 1 ? 'single' : 'pack', total);
        const pack = parseCap(cap);
        if (items.length === 1 || pack.type !== 'chk') { for (const w of items) w.resolve(cap); return; }
        for (const w of items) w.resolve(formatCap({ type: 'slice', pack, offset: w.offset, length: w.length }));
      } catch (err) {
        failed ??= { err };
        for (const w of items) w.reject(err);
      }
    })();
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  };

  return {
    async add(bytes) {
      rethrow();
      if (bytes.length <= LITERAL_MAX_BYTES) return { cap: store.putFile(bytesInput(bytes), { signal: o.signal }).then((r) => r.cap) }; // a literal cap: nothing to store
      const cap = new Promise<string>((resolve, reject) => waiters.push({ offset: size, length: bytes.length, resolve, reject }));
      cap.catch(() => {}); // observed by whoever awaits it; never an unhandled rejection when nobody does
      parts.push(bytes);
      size += bytes.length;
      if (size >= target) {
        seal();
        while (inFlight.size > maxInFlight) await Promise.race(inFlight);
        rethrow();
      }
      return { cap };
    },
    async flush() {
      seal();
      while (inFlight.size > 0) await Promise.race(inFlight);
      rethrow();
    }
  };
}

interface CachedPack { bytes: Promise<Uint8Array>; size: number; timer?: NodeJS.Timeout }

/** Whole packs read recently, per store (least recently used dropped first, and any pack idle a while). */
class PackCache {
  private packs = new Map<string, CachedPack>();
  private bytes = 0;
  private store: ObjectStore;
  constructor(store: ObjectStore) { this.store = store; }

  get(packCap: string, size: number): Promise<Uint8Array> {
    let e = this.packs.get(packCap);
    if (e) {
      this.packs.delete(packCap); // re-insert: most recently used last
    } else {
      e = { bytes: readWhole(this.store, packCap, size), size };
      this.bytes += size;
      e.bytes.catch(() => this.drop(packCap));
    }
    this.packs.set(packCap, e);
    clearTimeout(e.timer);
    e.timer = setTimeout(() => this.drop(packCap), PACK_CACHE_IDLE_MS);
    e.timer.unref();
    for (const [cap] of this.packs) {
      if (this.bytes <= PACK_CACHE_BYTES || cap === packCap) break;
      this.drop(cap);
    }
    return e.bytes;
  }

  private drop(cap: string): void {
    const e = this.packs.get(cap);
    if (!e) return;
    clearTimeout(e.timer);
    this.packs.delete(cap);
    this.bytes -= e.size;
  }
}

const caches = new WeakMap<ObjectStore, PackCache>();

async function readWhole(store: ObjectStore, cap: string, size: number): Promise<Uint8Array> {
  // No caller's signal: others may be waiting for the same pack; each waiter gives up on its own.
  const content = await store.getFile(cap);
  if (content.size !== size) throw new InvalidObjectError(`pack is ${content.size} bytes, its cap says ${size}`);
  return collect(content, 'pack');
}

/**
 * All of a content stream in one buffer, refusing one that is longer or shorter than it said. Content
 * already in memory is returned as it is (a view of the pack cache): read it, do not change it.
 */
export async function collect(content: { size: number; stream: AsyncIterable<Uint8Array>; bytes?: Uint8Array }, what: string): Promise<Uint8Array> {
  if (content.bytes) return content.bytes;
  const out = new Uint8Array(content.size);
  let at = 0;
  for await (const chunk of content.stream) {
    if (at + chunk.length > content.size) throw new InvalidObjectError(`${what} longer than its cap says`);
    out.set(chunk, at);
    at += chunk.length;
  }
  if (at !== content.size) throw new InvalidObjectError(`${what} shorter than its cap says`);
  return out;
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

/**
 * The bytes a cap names, verified: whole in memory when they are there anyway (`bytes`: a literal cap, or
 * a slice of a pack small enough to cache), else a stream from the store.
 */
export async function openContent(store: ObjectStore, cap: string, signal?: AbortSignal): Promise<{ size: number; stream: AsyncIterable<Uint8Array>; bytes?: Uint8Array }> {
  const c = parseCap(cap);
  if (c.type === 'lit') return { size: c.data.length, stream: (async function* () { yield c.data; })(), bytes: c.data };
  if (c.type !== 'slice' || c.pack.size > PACK_CACHE_MAX_PACK_BYTES) return store.getFile(cap, { signal });
  let cache = caches.get(store);
  if (!cache) caches.set(store, cache = new PackCache(store));
  const pack = await abortable(cache.get(formatCap(c.pack), c.pack.size), signal);
  const view = pack.subarray(c.offset, c.offset + c.length);
  return { size: c.length, stream: (async function* () { yield view; })(), bytes: view };
}
