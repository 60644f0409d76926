// Big transient buffers (whole packs and pack ranges read back) given back after use and handed out again,
// instead of allocated anew. A restore reads about its size again in pack buffers; allocated anew each time,
// every buffer is fresh memory: its pages fault in one by one (a daemon's buffers of 1 MiB and more are their own
// mappings, DAEMON_ENV), and every 64 MiB or so of new ArrayBuffer memory makes V8 run a full mark-compact
// to find what it can free. The pool keeps at most `maxBytes` and lets everything go once unused for `idleMs`,
// so an idle daemon holds none of it; releaseAllPools lets every pool's kept buffers go at once (a daemon whose
// operations are over: src/common/idle-gc.ts).

/** Every pool made, weakly (a test's pools go with the test). */
const pools = new Set<WeakRef<BufferPool>>();

/** Let go of what every pool keeps (buffers in use are not the pools': they come back later as usual). */
export function releaseAllPools(): void {
  for (const r of pools) {
    const p = r.deref();
    if (p) p.clear();
    else pools.delete(r);
  }
}

export class BufferPool {
  private free: ArrayBuffer[] = [];
  /** Buffers this pool made: only those are taken back (a stranger's buffer may still be in use elsewhere). */
  private readonly ours = new WeakSet<ArrayBuffer>();
  private held = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly maxBytes: number;
  private readonly idleMs: number;
  private readonly unit: number;

  /** `unit`: capacities are rounded up to a multiple of it, so buffers for nearby sizes fit each other. */
  constructor(o: { maxBytes: number; idleMs: number; unit?: number }) {
    this.maxBytes = o.maxBytes;
    this.idleMs = o.idleMs;
    this.unit = o.unit ?? 1 << 20;
    pools.add(new WeakRef(this));
  }

  /** Bytes of the buffers this pool allocated so far (a take served by a kept buffer allocates none). */
  allocated = 0;

  /** Buffers kept for reuse now. */
  get buffersHeld(): number {
    return this.free.length;
  }

  /** Bytes kept for reuse now. */
  get bytesHeld(): number {
    return this.held;
  }

  /** `size` bytes whose contents are undefined (an earlier user's bytes): the caller overwrites what it reads. */
  take(size: number): Uint8Array {
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      const cap = this.free[i].byteLength;
      if (cap >= size && (best < 0 || cap < this.free[best].byteLength)) best = i;
    }
    if (best >= 0) {
      const [b] = this.free.splice(best, 1);
      this.held -= b.byteLength;
      this.touch();
      return new Uint8Array(b, 0, size);
    }
    const cap = Math.max(this.unit, Math.ceil(size / this.unit) * this.unit);
    const b = Buffer.allocUnsafeSlow(cap).buffer as ArrayBuffer;
    this.allocated += cap;
    this.ours.add(b);
    return new Uint8Array(b, 0, size);
  }

  /**
   * Give back a buffer from take(): the caller keeps no reference to it or any view of it. The pool holds at most
   * maxBytes: to make room, it lets go of smaller buffers, the smallest first; if it would still hold too much,
   * it does not keep this one. A buffer given twice is kept once, one this pool did not make never.
   *
   * Smaller buffers make room because a bigger one serves their sizes too: the kept buffers become the ones the
   * takes need. Before, a pool holding a few small buffers refused every bigger one: a restore's pool kept the
   * 1, 2, 4 and 8 MiB buffers of its first packs (the packer starts small) and a 15 MiB one, and each 16 MiB pack
   * after them was read into a fresh buffer (1 GiB of page faults in a 1 GiB restore).
   */
  give(bytes: Uint8Array): void {
    const b = bytes.buffer;
    if (!(b instanceof ArrayBuffer) || !this.ours.has(b) || b.byteLength > this.maxBytes || this.free.includes(b)) return;
    if (this.held + b.byteLength > this.maxBytes) {
      const smaller = this.free.filter((f) => f.byteLength < b.byteLength).sort((x, y) => x.byteLength - y.byteLength);
      const gone = new Set<ArrayBuffer>();
      let held = this.held;
      for (const f of smaller) {
        if (held + b.byteLength <= this.maxBytes) break;
        gone.add(f);
        held -= f.byteLength;
      }
      if (held + b.byteLength > this.maxBytes) return;
      this.free = this.free.filter((f) => !gone.has(f));
      this.held = held;
    }
    this.free.push(b);
    this.held += b.byteLength;
    this.touch();
  }

  /** Let every kept buffer go. */
  clear(): void {
    this.free = [];
    this.held = 0;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private touch(): void {
    clearTimeout(this.timer);
    this.timer = this.held > 0 ? setTimeout(() => this.clear(), this.idleMs).unref() : undefined;
  }
}
