// DiskStore: shares as files under <home>/shares/<si prefix>/<si hex>/<shareNum>, indexed in LevelDB.
// Writes go to <home>/incoming/ and are renamed into place only once complete and fsynced, so a share
// is either absent or whole. open() removes stale temp files and reconciles index and files after a crash.
// Mutable slots (slots.ts) live beside the shares: files under <home>/slots/, index keys 'm!<si hex>'.
// Every stored byte, share or slot, is charged to a peer (its owner): the admission policy and the per-owner
// limits (open writes, reserved bytes, slot count) bound what any one peer can make this store hold.
import { mkdir, open as fsOpen, readdir, readFile, rename, rm, rmdir, stat, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Level } from 'level';
import {
  DEFAULT_LEASE_MS, GC_GRACE_MS, INCOMING_DIR, INDEX_DIR, MAX_LEASE_MS, MAX_OPEN_WRITES_PER_OWNER, MAX_RESERVED_BYTES_PER_OWNER,
  MAX_SHARE_NUM, MAX_SHARE_SIZE, MAX_SLOTS_PER_OWNER, MAX_SLOT_LEASE_MS, SHARES_DIR, SI_LENGTH, SI_PREFIX_CHARS, SLOTS_DIR,
} from './constants.ts';
import {
  InvalidArgumentError, NotOwnerError, OutOfRangeError, ShareNotFoundError, ShareRefusedError, SizeMismatchError,
  SlotRefusedError, StoreStateError,
} from './errors.ts';
import { SLOT_KEY_RANGE, checkSlotRecord, slotKey, slotPath } from './slots.ts';
import { parseSize } from './size.ts';
import type {
  AcceptDecision, AdmissionPolicy, GcResult, ShareListing, ShareRecord, ShareStore, ShareWriter, SlotPutOptions, SlotPutResult,
  SlotRecord, SlotStore, StoreStats, WriteOptions,
} from './types.ts';

export interface DiskStoreOptions {
  /** Space offered to the swarm: bytes or a human size ("20GiB", "500MB"). */
  offer: number | string;
  /** Optional admission policy consulted after the quota check (fairness layer hook). */
  policy?: AdmissionPolicy;
  /** Clock, for tests. */
  now?: () => number;
  /** Grace after lease expiry before gc() removes a share (default GC_GRACE_MS). */
  gcGraceMs?: number;
  /** Per-owner limits (defaults MAX_OPEN_WRITES_PER_OWNER, MAX_RESERVED_BYTES_PER_OWNER, MAX_SLOTS_PER_OWNER). */
  limits?: Partial<OwnerLimits>;
}

/** What one peer may hold in flight or in slots on this store (docs/PROTOCOL.md "Limits"). */
export interface OwnerLimits {
  openWrites: number;
  reservedBytes: number;
  slots: number;
}

export function siToHex(si: Uint8Array): string {
  return Buffer.from(si.buffer, si.byteOffset, si.byteLength).toString('hex');
}

export function checkSi(si: unknown): asserts si is Uint8Array {
  if (!(si instanceof Uint8Array) || si.byteLength !== SI_LENGTH) {
    throw new InvalidArgumentError(`storage index must be ${SI_LENGTH} bytes`, { length: si instanceof Uint8Array ? si.byteLength : null });
  }
}
export function checkShareNum(n: unknown): asserts n is number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > MAX_SHARE_NUM) {
    throw new InvalidArgumentError(`share number must be an integer 0..${MAX_SHARE_NUM}, got ${String(n)}`, { shareNum: n });
  }
}
function checkSize(size: unknown): asserts size is number {
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0 || size > MAX_SHARE_SIZE) {
    throw new InvalidArgumentError(`share size must be an integer 0..${MAX_SHARE_SIZE}, got ${String(size)}`, { size });
  }
}
function checkOwner(owner: unknown): asserts owner is string {
  if (typeof owner !== 'string' || owner.length === 0 || owner.length > 256) {
    throw new InvalidArgumentError('owner must be a non-empty peer ID string', { owner });
  }
}
function checkTime(t: unknown, what: string): asserts t is number {
  if (typeof t !== 'number' || !Number.isSafeInteger(t) || t < 0) throw new InvalidArgumentError(`${what} must be ms since epoch`, { [what]: t });
}

const keyOf = (siHex: string, shareNum: number) => `s!${siHex}!${String(shareNum).padStart(3, '0')}`;
/** Key range of every share entry (slot entries are 'm!…'). */
const SHARE_KEY_RANGE = { gte: 's!', lt: 's"' } as const;
type IndexValue = ShareRecord | SlotRecord;

export class DiskStore implements ShareStore, SlotStore {
  readonly home: string;
  readonly offered: number;
  private readonly db: Level<string, IndexValue>;
  private readonly policy?: AdmissionPolicy;
  private readonly now: () => number;
  private readonly gcGraceMs: number;
  private readonly limits: OwnerLimits;
  private used = 0;
  private count = 0;
  private slotCount = 0;
  private reserved = 0;
  private readonly pending = new Set<string>();
  /** Committed share and slot bytes per owner, and bytes reserved by each owner's uploads in progress (fairness). */
  private readonly usedBy = new Map<string, number>();
  /** Slots charged to each owner. */
  private readonly slotsBy = new Map<string, number>();
  private readonly reservedBy = new Map<string, { owner: string; size: number }>();
  private chain: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(home: string, opts: DiskStoreOptions, db: Level<string, IndexValue>) {
    this.home = home;
    this.offered = parseSize(opts.offer);
    this.db = db;
    this.policy = opts.policy;
    this.now = opts.now ?? Date.now;
    this.gcGraceMs = opts.gcGraceMs ?? GC_GRACE_MS;
    this.limits = {
      openWrites: opts.limits?.openWrites ?? MAX_OPEN_WRITES_PER_OWNER,
      reservedBytes: opts.limits?.reservedBytes ?? MAX_RESERVED_BYTES_PER_OWNER,
      slots: opts.limits?.slots ?? MAX_SLOTS_PER_OWNER,
    };
  }

  /** Open (creating if needed) the store in `home`; cleans temp files and reconciles index and files. */
  static async open(home: string, opts: DiskStoreOptions): Promise<DiskStore> {
    parseSize(opts.offer);
    await mkdir(join(home, SHARES_DIR), { recursive: true });
    await mkdir(join(home, SLOTS_DIR), { recursive: true });
    await rm(join(home, INCOMING_DIR), { recursive: true, force: true });
    await mkdir(join(home, INCOMING_DIR), { recursive: true });
    const db = new Level<string, IndexValue>(join(home, INDEX_DIR), { valueEncoding: 'json' });
    await db.open();
    const store = new DiskStore(home, opts, db);
    await store.reconcile();
    await store.reconcileSlots();
    return store;
  }

  private sharePath(siHex: string, shareNum: number): string {
    return join(this.home, SHARES_DIR, siHex.slice(0, SI_PREFIX_CHARS), siHex, String(shareNum));
  }

  /** Drop index entries whose file is gone and files that no index entry names (crash between rename and index put). */
  private async reconcile(): Promise<void> {
    const known = new Set<string>();
    const dead: string[] = [];
    for await (const [key, value] of this.db.iterator(SHARE_KEY_RANGE)) {
      const rec = value as ShareRecord;
      try {
        const st = await stat(this.sharePath(rec.siHex, rec.shareNum));
        if (st.size !== rec.size) throw new Error('size');
        known.add(key);
        this.used += rec.size;
        this.count++;
        this.addOwnerBytes(rec.owner, rec.size);
      } catch {
        dead.push(key);
      }
    }
    if (dead.length) await this.db.batch(dead.map((key) => ({ type: 'del' as const, key })));
    const root = join(this.home, SHARES_DIR);
    for (const prefix of await readdir(root)) {
      for (const siHex of await readdir(join(root, prefix)).catch(() => [] as string[])) {
        const dir = join(root, prefix, siHex);
        for (const name of await readdir(dir).catch(() => [] as string[])) {
          const n = Number(name);
          if (!/^\d{1,3}$/.test(name) || !known.has(keyOf(siHex, n))) await rm(join(dir, name), { force: true, recursive: true });
        }
        await rmdir(dir).catch(() => {});
      }
      await rmdir(join(root, prefix)).catch(() => {});
    }
  }

  /**
   * Slots: an entry whose file is gone is dropped; a file whose size differs from its entry (crash between the
   * rename of a newer record and the index update) is checked again and the entry follows the file; files
   * without an entry are removed.
   */
  private async reconcileSlots(): Promise<void> {
    const known = new Set<string>();
    const ops: { type: 'put' | 'del'; key: string; value?: SlotRecord }[] = [];
    for await (const [key, value] of this.db.iterator(SLOT_KEY_RANGE)) {
      const rec = value as SlotRecord;
      const path = slotPath(this.home, rec.siHex);
      try {
        const st = await stat(path);
        let cur = rec;
        if (st.size !== rec.size) {
          const { seq } = checkSlotRecord(Buffer.from(rec.siHex, 'hex'), await readFile(path));
          cur = { ...rec, seq, size: st.size };
          ops.push({ type: 'put', key, value: cur });
        }
        known.add(rec.siHex);
        this.used += cur.size;
        this.slotCount++;
        this.addOwnerBytes(rec.owner, cur.size);
        this.addOwnerSlots(rec.owner, 1);
      } catch {
        ops.push({ type: 'del', key });
        await rm(path, { force: true });
      }
    }
    if (ops.length) await this.db.batch(ops.map((o) => (o.type === 'put' ? { type: 'put' as const, key: o.key, value: o.value! } : { type: 'del' as const, key: o.key })));
    const root = join(this.home, SLOTS_DIR);
    for (const prefix of await readdir(root)) {
      for (const name of await readdir(join(root, prefix)).catch(() => [] as string[])) {
        if (!known.has(name)) await rm(join(root, prefix, name), { force: true, recursive: true });
      }
      await rmdir(join(root, prefix)).catch(() => {});
    }
  }

  /** Serialize index mutations. */
  private locked<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.chain.then(fn, fn);
    this.chain = p.catch(() => {});
    return p;
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreStateError('store is closed');
  }

  stats(): StoreStats {
    return {
      offered: this.offered,
      used: this.used,
      reserved: this.reserved,
      free: Math.max(0, this.offered - this.used - this.reserved),
      shares: this.count,
      slots: this.slotCount,
    };
  }

  async get(si: Uint8Array, shareNum: number): Promise<ShareRecord | undefined> {
    this.assertOpen();
    checkSi(si);
    checkShareNum(shareNum);
    return ((await this.db.get(keyOf(siToHex(si), shareNum))) as ShareRecord | undefined) ?? undefined;
  }

  async canAccept(si: Uint8Array, shareNum: number, size: number, owner: string): Promise<AcceptDecision> {
    this.assertOpen();
    try {
      checkSi(si); checkShareNum(shareNum); checkSize(size); checkOwner(owner);
    } catch (e) {
      return { ok: false, reason: 'invalid', message: (e as Error).message };
    }
    const siHex = siToHex(si);
    const key = keyOf(siHex, shareNum);
    const rec = (await this.db.get(key)) as ShareRecord | undefined;
    if (rec) {
      if (rec.owner === owner) return { ok: false, reason: 'exists', message: `already have share ${shareNum} of ${siHex} from you (${rec.size} bytes)` };
      return { ok: false, reason: 'conflict', message: `share ${shareNum} of ${siHex} is held for another peer` };
    }
    if (this.pending.has(key)) return { ok: false, reason: 'busy', message: `an upload of share ${shareNum} of ${siHex} is in progress` };
    const tooMany = this.ownerWriteLimit(owner, size);
    if (tooMany) return { ok: false, reason: 'busy', message: tooMany };
    const st = this.stats();
    if (size > st.free) return { ok: false, reason: 'quota', message: `not enough offered space: ${size} bytes asked, ${st.free} free` };
    if (this.policy) {
      const d = await this.policy({ si, shareNum, size, owner, stats: st });
      if (!d.ok) return { ok: false, reason: 'policy', message: d.message };
    }
    return { ok: true };
  }

  async beginWrite(si: Uint8Array, shareNum: number, owner: string, expectedSize: number, opts: WriteOptions = {}): Promise<ShareWriter> {
    this.assertOpen();
    checkSi(si); checkShareNum(shareNum); checkSize(expectedSize); checkOwner(owner);
    if (opts.leaseUntil !== undefined) checkTime(opts.leaseUntil, 'leaseUntil');
    const d = await this.canAccept(si, shareNum, expectedSize, owner);
    if (!d.ok) throw new ShareRefusedError(d.reason, d.message, { si: siToHex(si), shareNum });
    const siHex = siToHex(si);
    const key = keyOf(siHex, shareNum);
    // Re-check synchronously after the awaits above: another beginWrite may have slipped in.
    if (this.pending.has(key)) throw new ShareRefusedError('busy', `an upload of share ${shareNum} of ${siHex} is in progress`, { si: siHex, shareNum });
    const tooMany = this.ownerWriteLimit(owner, expectedSize);
    if (tooMany) throw new ShareRefusedError('busy', tooMany, { si: siHex, shareNum });
    if (expectedSize > this.stats().free) throw new ShareRefusedError('quota', `not enough offered space for ${expectedSize} bytes`, { si: siHex, shareNum });
    this.pending.add(key);
    this.reserved += expectedSize;
    this.reservedBy.set(key, { owner, size: expectedSize });
    const tmp = join(this.home, INCOMING_DIR, `${siHex}.${shareNum}.${randomBytes(6).toString('hex')}.tmp`);
    let fh: FileHandle;
    try {
      fh = await fsOpen(tmp, 'wx', 0o600);
    } catch (e) {
      this.pending.delete(key);
      this.reservedBy.delete(key);
      this.reserved -= expectedSize;
      throw e;
    }
    const now = this.now();
    const leaseExpiry = Math.min(opts.leaseUntil ?? now + DEFAULT_LEASE_MS, now + MAX_LEASE_MS);
    return new DiskShareWriter(this, { siHex, shareNum, owner, expectedSize, leaseExpiry, key, tmp, fh });
  }

  /** @internal called by DiskShareWriter */
  async finishWrite(w: { siHex: string; shareNum: number; owner: string; expectedSize: number; leaseExpiry: number; key: string; tmp: string }): Promise<ShareRecord> {
    return this.locked(async () => {
      this.assertOpen();
      const dest = this.sharePath(w.siHex, w.shareNum);
      const dir = join(dest, '..');
      await mkdir(dir, { recursive: true });
      await rename(w.tmp, dest);
      await fsyncDir(dir);
      const rec: ShareRecord = { siHex: w.siHex, shareNum: w.shareNum, size: w.expectedSize, owner: w.owner, leaseExpiry: w.leaseExpiry, created: this.now() };
      await this.db.put(w.key, rec);
      this.used += rec.size;
      this.count++;
      this.addOwnerBytes(rec.owner, rec.size);
      return rec;
    });
  }

  /** @internal release the reservation of a finished or aborted writer */
  release(key: string, size: number): void {
    if (this.pending.delete(key)) this.reserved -= size;
    this.reservedBy.delete(key);
  }

  /**
   * Why `owner` may not start another upload of `size` bytes now, or null: at most `openWrites` uploads in
   * progress, and at most `reservedBytes` reserved by them unless this is its only one (a large share).
   */
  private ownerWriteLimit(owner: string, size: number): string | null {
    let count = 0;
    let bytes = 0;
    for (const r of this.reservedBy.values()) if (r.owner === owner) { count++; bytes += r.size; }
    if (count >= this.limits.openWrites) return `you have ${count} uploads in progress here, the most one peer may have (${this.limits.openWrites})`;
    if (count > 0 && bytes + size > this.limits.reservedBytes) return `your uploads in progress here already reserve ${bytes} bytes; ${size} more would pass the ${this.limits.reservedBytes}-byte limit per peer`;
    return null;
  }

  private addOwnerSlots(owner: string, delta: number): void {
    const v = (this.slotsBy.get(owner) ?? 0) + delta;
    if (v > 0) this.slotsBy.set(owner, v);
    else this.slotsBy.delete(owner);
  }

  private addOwnerBytes(owner: string, delta: number): void {
    const v = (this.usedBy.get(owner) ?? 0) + delta;
    if (v > 0) this.usedBy.set(owner, v);
    else this.usedBy.delete(owner);
  }

  /** Bytes of committed shares held for `owner`, and bytes its uploads in progress have reserved (for admission policies). */
  ownerUsage(owner: string): { used: number; reserved: number } {
    let reserved = 0;
    for (const r of this.reservedBy.values()) if (r.owner === owner) reserved += r.size;
    return { used: this.usedBy.get(owner) ?? 0, reserved };
  }

  /** Committed share and slot bytes per owner (a slot is charged to the peer that first stored it). */
  usageByOwner(): Map<string, number> {
    return new Map(this.usedBy);
  }

  async read(si: Uint8Array, shareNum: number, offset: number, length: number): Promise<Uint8Array> {
    this.assertOpen();
    checkSi(si); checkShareNum(shareNum);
    const siHex = siToHex(si);
    const rec = (await this.db.get(keyOf(siHex, shareNum))) as ShareRecord | undefined;
    if (!rec) throw new ShareNotFoundError(siHex, shareNum);
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > rec.size) {
      throw new OutOfRangeError(`range [${offset}, +${length}) is outside share ${shareNum} of ${siHex} (${rec.size} bytes)`, { offset, length, size: rec.size });
    }
    const out = new Uint8Array(length);
    if (length === 0) return out;
    const fh = await fsOpen(this.sharePath(siHex, shareNum), 'r');
    try {
      let got = 0;
      while (got < length) {
        const { bytesRead } = await fh.read(out, got, length - got, offset + got);
        if (bytesRead === 0) throw new OutOfRangeError(`share file ${shareNum} of ${siHex} is shorter than its index says`, { offset, length });
        got += bytesRead;
      }
    } finally {
      await fh.close();
    }
    return out;
  }

  async list(si: Uint8Array): Promise<ShareListing[]> {
    this.assertOpen();
    checkSi(si);
    const siHex = siToHex(si);
    const out: ShareListing[] = [];
    for await (const rec of this.db.values({ gte: `s!${siHex}!`, lt: `s!${siHex}!~` })) out.push({ shareNum: (rec as ShareRecord).shareNum, size: rec.size });
    return out;
  }

  /** Every share record, for the daemon's status and for tests. */
  async *records(): AsyncGenerator<ShareRecord> {
    this.assertOpen();
    for await (const rec of this.db.values(SHARE_KEY_RANGE)) yield rec as ShareRecord;
  }

  async renewLease(si: Uint8Array, shareNum: number | 'all', owner: string, until: number): Promise<number> {
    this.assertOpen();
    checkSi(si); checkOwner(owner); checkTime(until, 'until');
    if (shareNum !== 'all') checkShareNum(shareNum);
    const siHex = siToHex(si);
    const capped = Math.min(until, this.now() + MAX_LEASE_MS);
    return this.locked(async () => {
      const recs: ShareRecord[] = [];
      if (shareNum === 'all') {
        for await (const rec of this.db.values({ gte: `s!${siHex}!`, lt: `s!${siHex}!~` })) if (rec.owner === owner) recs.push(rec as ShareRecord);
      } else {
        const rec = (await this.db.get(keyOf(siHex, shareNum))) as ShareRecord | undefined;
        if (!rec) throw new ShareNotFoundError(siHex, shareNum);
        if (rec.owner !== owner) throw new NotOwnerError(siHex, shareNum);
        recs.push(rec);
      }
      const ops = recs.filter((r) => capped > r.leaseExpiry).map((r) => ({ type: 'put' as const, key: keyOf(r.siHex, r.shareNum), value: { ...r, leaseExpiry: capped } }));
      if (ops.length) await this.db.batch(ops);
      return recs.length;
    });
  }

  async delete(si: Uint8Array, shareNum: number, owner: string): Promise<void> {
    this.assertOpen();
    checkSi(si); checkShareNum(shareNum); checkOwner(owner);
    const siHex = siToHex(si);
    await this.locked(async () => {
      const rec = (await this.db.get(keyOf(siHex, shareNum))) as ShareRecord | undefined;
      if (!rec) throw new ShareNotFoundError(siHex, shareNum);
      if (rec.owner !== owner) throw new NotOwnerError(siHex, shareNum);
      await this.removeLocked(rec);
    });
  }

  private async removeLocked(rec: ShareRecord): Promise<void> {
    await this.db.del(keyOf(rec.siHex, rec.shareNum));
    this.used -= rec.size;
    this.count--;
    this.addOwnerBytes(rec.owner, -rec.size);
    const path = this.sharePath(rec.siHex, rec.shareNum);
    await unlink(path).catch(() => {});
    await rmdir(join(path, '..')).catch(() => {});
  }

  async gc(now: number = this.now()): Promise<GcResult> {
    this.assertOpen();
    return this.locked(async () => {
      const expired: ShareRecord[] = [];
      for await (const rec of this.db.values(SHARE_KEY_RANGE)) if (rec.leaseExpiry + this.gcGraceMs < now) expired.push(rec as ShareRecord);
      let reclaimedBytes = 0;
      for (const rec of expired) {
        await this.removeLocked(rec);
        reclaimedBytes += rec.size;
      }
      const expiredSlots: SlotRecord[] = [];
      for await (const rec of this.db.values(SLOT_KEY_RANGE)) if (rec.leaseExpiry + this.gcGraceMs < now) expiredSlots.push(rec as SlotRecord);
      for (const rec of expiredSlots) {
        await this.db.del(slotKey(rec.siHex));
        this.used -= rec.size;
        this.slotCount--;
        this.addOwnerBytes(rec.owner, -rec.size);
        this.addOwnerSlots(rec.owner, -1);
        reclaimedBytes += rec.size;
        const path = slotPath(this.home, rec.siHex);
        await unlink(path).catch(() => {});
        await rmdir(join(path, '..')).catch(() => {});
      }
      return { removedShares: expired.length, reclaimedBytes, removedSlots: expiredSlots.length };
    });
  }

  // ---- mutable slots -----------------------------------------------------------------------------------

  async putSlot(si: Uint8Array, record: Uint8Array, owner: string, opts: SlotPutOptions = {}): Promise<SlotPutResult> {
    this.assertOpen();
    checkSi(si); checkOwner(owner);
    if (opts.leaseUntil !== undefined) checkTime(opts.leaseUntil, 'leaseUntil');
    const siHex = siToHex(si);
    const { seq } = checkSlotRecord(si, record); // CPU only: outside the lock
    return this.locked(async () => {
      this.assertOpen();
      const key = slotKey(siHex);
      const cur = (await this.db.get(key)) as SlotRecord | undefined;
      const now = this.now();
      const asked = Math.min(opts.leaseUntil ?? now + DEFAULT_LEASE_MS, now + MAX_SLOT_LEASE_MS);
      const leaseExpiry = Math.max(asked, cur?.leaseExpiry ?? 0);
      if (cur && seq <= cur.seq) {
        if (seq === cur.seq && cur.size === record.byteLength) {
          const stored = await readFile(slotPath(this.home, siHex)).catch(() => null);
          if (stored && Buffer.compare(stored, record) === 0) {
            // Renewal by the peer charged with the slot only: the same bytes replayed by anyone else (they are
            // public: SLOT_GET) must not keep a slot alive that its owner let go.
            if (owner !== cur.owner) return { status: 'unchanged' as const, seq, size: cur.size, leaseExpiry: cur.leaseExpiry };
            if (leaseExpiry > cur.leaseExpiry) await this.db.put(key, { ...cur, leaseExpiry });
            return { status: 'unchanged' as const, seq, size: cur.size, leaseExpiry };
          }
        }
        throw new SlotRefusedError('stale', `slot ${siHex} already holds seq ${cur.seq}; record has seq ${seq}${seq === cur.seq ? ' with different bytes' : ''}`, { si: siHex, seq, storedSeq: cur.seq });
      }
      // A new slot is charged to the peer storing it, under the same rule as its shares; a newer record (signed
      // by the slot's key, so it may renew) keeps the slot charged to whoever stored it first.
      const charged = cur?.owner ?? owner;
      const delta = record.byteLength - (cur?.size ?? 0);
      const st = this.stats();
      if (delta > st.free) throw new SlotRefusedError('quota', `not enough offered space: ${delta} more bytes asked, ${st.free} free`, { si: siHex });
      if (!cur) {
        const held = this.slotsBy.get(owner) ?? 0;
        if (held >= this.limits.slots) throw new SlotRefusedError('limit', `you already have ${held} slots here, the most one peer may have (${this.limits.slots})`, { si: siHex, limit: this.limits.slots });
        if (this.policy) {
          const d = await this.policy({ si, shareNum: 0, size: record.byteLength, owner, stats: st, kind: 'slot' });
          if (!d.ok) throw new SlotRefusedError('policy', d.message, { si: siHex });
        }
      }
      const tmp = join(this.home, INCOMING_DIR, `slot.${siHex}.${randomBytes(6).toString('hex')}.tmp`);
      const dest = slotPath(this.home, siHex);
      const fh = await fsOpen(tmp, 'wx', 0o600);
      try {
        let off = 0;
        while (off < record.byteLength) off += (await fh.write(record, off, record.byteLength - off, off)).bytesWritten;
        await fh.sync();
        await fh.close();
        await mkdir(join(dest, '..'), { recursive: true });
        await rename(tmp, dest);
        await fsyncDir(join(dest, '..'));
      } catch (e) {
        await fh.close().catch(() => {});
        await rm(tmp, { force: true });
        throw e;
      }
      const rec: SlotRecord = { siHex, seq, size: record.byteLength, owner: charged, leaseExpiry, created: cur?.created ?? now, updated: now };
      await this.db.put(key, rec);
      this.used += delta;
      this.addOwnerBytes(charged, delta);
      if (!cur) { this.slotCount++; this.addOwnerSlots(charged, 1); }
      return { status: 'stored' as const, seq, size: rec.size, leaseExpiry };
    });
  }

  async getSlot(si: Uint8Array): Promise<Uint8Array | undefined> {
    this.assertOpen();
    checkSi(si);
    const siHex = siToHex(si);
    if (!(await this.db.get(slotKey(siHex)))) return undefined;
    try {
      return new Uint8Array(await readFile(slotPath(this.home, siHex)));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  async getSlotRecord(si: Uint8Array): Promise<SlotRecord | undefined> {
    this.assertOpen();
    checkSi(si);
    return ((await this.db.get(slotKey(siToHex(si)))) as SlotRecord | undefined) ?? undefined;
  }

  async listSlots(): Promise<SlotRecord[]> {
    this.assertOpen();
    const out: SlotRecord[] = [];
    for await (const rec of this.db.values(SLOT_KEY_RANGE)) out.push(rec as SlotRecord);
    return out;
  }

  async renewSlotLease(si: Uint8Array, until: number, owner: string): Promise<boolean> {
    this.assertOpen();
    checkSi(si); checkTime(until, 'until'); checkOwner(owner);
    const capped = Math.min(until, this.now() + MAX_SLOT_LEASE_MS);
    return this.locked(async () => {
      const key = slotKey(siToHex(si));
      const cur = (await this.db.get(key)) as SlotRecord | undefined;
      if (!cur || cur.owner !== owner) return false;
      if (capped > cur.leaseExpiry) await this.db.put(key, { ...cur, leaseExpiry: capped });
      return true;
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.chain;
    this.closed = true;
    await this.db.close();
  }
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await fsOpen(dir, 'r');
  try { await fh.sync(); } catch { /* some filesystems refuse directory fsync */ } finally { await fh.close(); }
}

interface WriterState { siHex: string; shareNum: number; owner: string; expectedSize: number; leaseExpiry: number; key: string; tmp: string; fh: FileHandle }

class DiskShareWriter implements ShareWriter {
  readonly expectedSize: number;
  written = 0;
  private state: 'open' | 'committing' | 'done' = 'open';
  private readonly store: DiskStore;
  private readonly w: WriterState;

  constructor(store: DiskStore, w: WriterState) {
    this.store = store;
    this.w = w;
    this.expectedSize = w.expectedSize;
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (this.state !== 'open') throw new StoreStateError('writer is no longer open');
    if (this.written + chunk.byteLength > this.expectedSize) {
      const err = new SizeMismatchError(this.expectedSize, this.written + chunk.byteLength);
      await this.abort();
      throw err;
    }
    let off = 0;
    while (off < chunk.byteLength) {
      const { bytesWritten } = await this.w.fh.write(chunk, off, chunk.byteLength - off, this.written + off);
      off += bytesWritten;
    }
    this.written += chunk.byteLength;
  }

  async commit(): Promise<ShareRecord> {
    if (this.state !== 'open') throw new StoreStateError('writer is no longer open');
    if (this.written !== this.expectedSize) {
      const err = new SizeMismatchError(this.expectedSize, this.written);
      await this.abort();
      throw err;
    }
    this.state = 'committing';
    try {
      await this.w.fh.sync();
      await this.w.fh.close();
      const rec = await this.store.finishWrite(this.w);
      this.state = 'done';
      this.store.release(this.w.key, this.expectedSize);
      return rec;
    } catch (e) {
      this.state = 'open';
      await this.abort();
      throw e;
    }
  }

  async abort(): Promise<void> {
    if (this.state === 'done') return;
    this.state = 'done';
    await this.w.fh.close().catch(() => {});
    await rm(this.w.tmp, { force: true });
    this.store.release(this.w.key, this.expectedSize);
  }
}
