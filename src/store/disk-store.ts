// DiskStore: shares as files under <home>/shares/<si prefix>/<si hex>/<shareNum>, indexed in LevelDB.
// Writes go to <home>/incoming/ and are renamed into place only once complete and fsynced, so a share
// is either absent or whole. open() removes stale temp files and reconciles index and files after a crash.
// Mutable slots (slots.ts) live beside the shares: files under <home>/slots/, index keys 'm!<si hex>'.
// Quota, reservations, admission, per-owner bytes and lease limits are accounting.ts's (shared with
// MemoryStore); this file is the bytes on disk and the index.
// Every stored byte, share or slot, is charged to a peer (its owner): the admission policy and the per-owner
// limits (open writes, reserved bytes, slot count) bound what any one peer can make this store hold.
import { mkdir, open as fsOpen, readdir, readFile, rename, rm, rmdir, stat, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Level } from 'level';
import { GC_GRACE_MS, INCOMING_DIR, INDEX_DIR, SHARES_DIR, SI_PREFIX_CHARS, SLOTS_DIR } from './constants.ts';
import { NotOwnerError, OutOfRangeError, ShareNotFoundError, ShareRefusedError, SizeMismatchError, StoreStateError } from './errors.ts';
import { StoreAccounting, type AccountingInit } from './accounting.ts';
import { checkOwner, checkShareNum, checkSi, checkSize, checkTime, heldDecision, shareKey as keyOf, siToHex } from './checks.ts';
import { SLOT_KEY_RANGE, checkSlotRecord, slotKey, slotPath, slotPutOutcome } from './slots.ts';
import { parseSize } from './size.ts';
import type {
  AcceptDecision,
  GcResult,
  LocalStore,
  ShareListing,
  ShareRecord,
  ShareWriter,
  SlotPutOptions,
  SlotPutResult,
  SlotRecord,
  StoreStats,
  WriteOptions
} from './types.ts';

export interface DiskStoreOptions extends AccountingInit {
  /** Grace after lease expiry before gc() removes a share (default GC_GRACE_MS). */
  gcGraceMs?: number;
}

/** Key range of every share entry (slot entries are 'm!…'). */
const SHARE_KEY_RANGE = { gte: 's!', lt: 's"' } as const;
type IndexValue = ShareRecord | SlotRecord;

export class DiskStore implements LocalStore {
  readonly home: string;
  readonly offered: number;
  private readonly db: Level<string, IndexValue>;
  /** Quota, reservations, admission, per-owner bytes and lease limits (accounting.ts). */
  private readonly acct: StoreAccounting;
  private readonly gcGraceMs: number;
  private chain: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(home: string, opts: DiskStoreOptions, db: Level<string, IndexValue>) {
    this.home = home;
    this.acct = new StoreAccounting(opts);
    this.offered = this.acct.offered;
    this.db = db;
    this.gcGraceMs = opts.gcGraceMs ?? GC_GRACE_MS;
  }

  private now(): number {
    return this.acct.now();
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
        this.acct.addShare(rec.owner, rec.size);
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
        this.acct.putSlot(cur.owner, cur.size);
      } catch {
        ops.push({ type: 'del', key });
        await rm(path, { force: true });
      }
    }
    if (ops.length)
      await this.db.batch(ops.map((o) => (o.type === 'put' ? { type: 'put' as const, key: o.key, value: o.value! } : { type: 'del' as const, key: o.key })));
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
    return this.acct.stats();
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
      checkSi(si);
      checkShareNum(shareNum);
      checkSize(size);
      checkOwner(owner);
    } catch (e) {
      return { ok: false, reason: 'invalid', message: (e as Error).message };
    }
    const siHex = siToHex(si);
    const key = keyOf(siHex, shareNum);
    const rec = (await this.db.get(key)) as ShareRecord | undefined;
    if (rec) return heldDecision(rec, owner);
    return this.acct.admit(key, { si, shareNum, size, owner });
  }

  async beginWrite(si: Uint8Array, shareNum: number, owner: string, expectedSize: number, opts: WriteOptions = {}): Promise<ShareWriter> {
    this.assertOpen();
    checkSi(si);
    checkShareNum(shareNum);
    checkSize(expectedSize);
    checkOwner(owner);
    if (opts.leaseUntil !== undefined) checkTime(opts.leaseUntil, 'leaseUntil');
    const d = await this.canAccept(si, shareNum, expectedSize, owner);
    if (!d.ok) throw new ShareRefusedError(d.reason, d.message, { si: siToHex(si), shareNum });
    const siHex = siToHex(si);
    const key = keyOf(siHex, shareNum);
    // Re-checked synchronously after the awaits above: another beginWrite may have slipped in.
    this.acct.reserve(key, owner, expectedSize, { si: siHex, shareNum });
    const tmp = join(this.home, INCOMING_DIR, `${siHex}.${shareNum}.${randomBytes(6).toString('hex')}.tmp`);
    let fh: FileHandle;
    try {
      fh = await fsOpen(tmp, 'wx', 0o600);
    } catch (e) {
      this.acct.release(key);
      throw e;
    }
    const leaseExpiry = this.acct.leaseFor(opts.leaseUntil);
    return new DiskShareWriter(this, { siHex, shareNum, owner, expectedSize, leaseExpiry, key, tmp, fh });
  }

  /** @internal called by DiskShareWriter */
  async finishWrite(w: {
    siHex: string;
    shareNum: number;
    owner: string;
    expectedSize: number;
    leaseExpiry: number;
    key: string;
    tmp: string;
  }): Promise<ShareRecord> {
    return this.locked(async () => {
      this.assertOpen();
      const dest = this.sharePath(w.siHex, w.shareNum);
      const dir = join(dest, '..');
      await mkdir(dir, { recursive: true });
      await rename(w.tmp, dest);
      await fsyncDir(dir);
      const rec: ShareRecord = { siHex: w.siHex, shareNum: w.shareNum, size: w.expectedSize, owner: w.owner, leaseExpiry: w.leaseExpiry, created: this.now() };
      await this.db.put(w.key, rec);
      this.acct.addShare(rec.owner, rec.size);
      return rec;
    });
  }

  /** @internal release the reservation of a finished or aborted writer */
  release(key: string): void {
    this.acct.release(key);
  }

  ownerUsage(owner: string): { used: number; reserved: number } {
    return this.acct.ownerUsage(owner);
  }

  usageByOwner(): Map<string, number> {
    return this.acct.usageByOwner();
  }

  async read(si: Uint8Array, shareNum: number, offset: number, length: number): Promise<Uint8Array> {
    this.assertOpen();
    checkSi(si);
    checkShareNum(shareNum);
    const siHex = siToHex(si);
    const rec = (await this.db.get(keyOf(siHex, shareNum))) as ShareRecord | undefined;
    if (!rec) throw new ShareNotFoundError(siHex, shareNum);
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > rec.size) {
      throw new OutOfRangeError(`range [${offset}, +${length}) is outside share ${shareNum} of ${siHex} (${rec.size} bytes)`, {
        offset,
        length,
        size: rec.size
      });
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
    checkSi(si);
    checkOwner(owner);
    checkTime(until, 'until');
    if (shareNum !== 'all') checkShareNum(shareNum);
    const siHex = siToHex(si);
    const capped = this.acct.capLease(until);
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
      const ops = recs
        .filter((r) => capped > r.leaseExpiry)
        .map((r) => ({ type: 'put' as const, key: keyOf(r.siHex, r.shareNum), value: { ...r, leaseExpiry: capped } }));
      if (ops.length) await this.db.batch(ops);
      return recs.length;
    });
  }

  async delete(si: Uint8Array, shareNum: number, owner: string): Promise<void> {
    this.assertOpen();
    checkSi(si);
    checkShareNum(shareNum);
    checkOwner(owner);
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
    this.acct.removeShare(rec.owner, rec.size);
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
        this.acct.removeSlot(rec.owner, rec.size);
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
    checkSi(si);
    checkOwner(owner);
    if (opts.leaseUntil !== undefined) checkTime(opts.leaseUntil, 'leaseUntil');
    const siHex = siToHex(si);
    const { seq } = checkSlotRecord(si, record); // CPU only: outside the lock
    return this.locked(async () => {
      this.assertOpen();
      const key = slotKey(siHex);
      const cur = (await this.db.get(key)) as SlotRecord | undefined;
      const now = this.now();
      const leaseExpiry = Math.max(this.acct.slotLeaseFor(opts.leaseUntil), cur?.leaseExpiry ?? 0);
      if ((await slotPutOutcome(siHex, cur, seq, record, () => readFile(slotPath(this.home, siHex)).catch(() => null))) === 'unchanged') {
        // Renewal by the peer charged with the slot only: the same bytes replayed by anyone else (they are
        // public: SLOT_GET) must not keep a slot alive that its owner let go.
        if (owner !== cur!.owner) return { status: 'unchanged' as const, seq, size: cur!.size, leaseExpiry: cur!.leaseExpiry };
        if (leaseExpiry > cur!.leaseExpiry) await this.db.put(key, { ...cur!, leaseExpiry });
        return { status: 'unchanged' as const, seq, size: cur!.size, leaseExpiry };
      }
      // A newer record (signed by the slot's key) keeps the slot charged to whoever stored it first.
      const charged = cur?.owner ?? owner;
      await this.acct.admitSlot({ si, size: record.byteLength, owner, previous: cur?.size });
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
      this.acct.putSlot(charged, rec.size, cur?.size);
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
    checkSi(si);
    checkTime(until, 'until');
    checkOwner(owner);
    const capped = this.acct.capSlotLease(until);
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
  try {
    await fh.sync();
  } catch {
    /* some filesystems refuse directory fsync */
  } finally {
    await fh.close();
  }
}

interface WriterState {
  siHex: string;
  shareNum: number;
  owner: string;
  expectedSize: number;
  leaseExpiry: number;
  key: string;
  tmp: string;
  fh: FileHandle;
}

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
      this.store.release(this.w.key);
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
    this.store.release(this.w.key);
  }
}
