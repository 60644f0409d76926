// MemoryStore: the store contract (types.ts LocalStore) in RAM, for tests and throwaway peers (config
// `store: { kind: "memory" }`). Same checks, accounting (accounting.ts), slot rules (slots.ts) and
// refusals as DiskStore, and it passes the same suite (test/store/suite.ts); everything is lost at close.
// A share is visible only once committed, as on disk. The offer still bounds what it holds: size it to RAM.
import { GC_GRACE_MS } from './constants.ts';
import { NotOwnerError, OutOfRangeError, ShareNotFoundError, ShareRefusedError, SizeMismatchError, StoreStateError } from './errors.ts';
import { StoreAccounting, type AccountingInit } from './accounting.ts';
import { checkOwner, checkShareNum, checkSi, checkSize, checkTime, heldDecision, shareKey, siToHex } from './checks.ts';
import { checkSlotRecord, slotPutOutcome } from './slots.ts';
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

export interface MemoryStoreOptions extends AccountingInit {
  /** Grace after lease expiry before gc() removes a share (default GC_GRACE_MS). */
  gcGraceMs?: number;
}

interface Held {
  rec: ShareRecord;
  bytes: Uint8Array;
}
interface HeldSlot {
  rec: SlotRecord;
  bytes: Uint8Array;
}

export class MemoryStore implements LocalStore {
  readonly offered: number;
  private readonly acct: StoreAccounting;
  private readonly gcGraceMs: number;
  /** Committed shares by share key; slots by storage index (hex). */
  private readonly shares = new Map<string, Held>();
  private readonly slots = new Map<string, HeldSlot>();
  private closed = false;

  constructor(opts: MemoryStoreOptions) {
    this.acct = new StoreAccounting(opts);
    this.offered = this.acct.offered;
    this.gcGraceMs = opts.gcGraceMs ?? GC_GRACE_MS;
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
    const held = this.shares.get(shareKey(siToHex(si), shareNum));
    return held ? { ...held.rec } : undefined;
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
    const key = shareKey(siToHex(si), shareNum);
    const held = this.shares.get(key);
    if (held) return heldDecision(held.rec, owner);
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
    const key = shareKey(siHex, shareNum);
    // Re-checked synchronously after the await above: another beginWrite may have slipped in.
    this.acct.reserve(key, owner, expectedSize, { si: siHex, shareNum });
    const leaseExpiry = this.acct.leaseFor(opts.leaseUntil);
    return new MemoryShareWriter(expectedSize, {
      commit: (bytes) => {
        this.assertOpen();
        const rec: ShareRecord = { siHex, shareNum, size: expectedSize, owner, leaseExpiry, created: this.acct.now() };
        this.shares.set(key, { rec, bytes });
        this.acct.addShare(owner, expectedSize);
        return { ...rec };
      },
      release: () => this.acct.release(key)
    });
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
    const held = this.shares.get(shareKey(siHex, shareNum));
    if (!held) throw new ShareNotFoundError(siHex, shareNum);
    const { size } = held.rec;
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > size) {
      throw new OutOfRangeError(`range [${offset}, +${length}) is outside share ${shareNum} of ${siHex} (${size} bytes)`, { offset, length, size });
    }
    // A copy: the caller owns what it is given (as with a read from disk).
    return held.bytes.slice(offset, offset + length);
  }

  async list(si: Uint8Array): Promise<ShareListing[]> {
    this.assertOpen();
    checkSi(si);
    const siHex = siToHex(si);
    return this.sorted()
      .filter((h) => h.rec.siHex === siHex)
      .map((h) => ({ shareNum: h.rec.shareNum, size: h.rec.size }));
  }

  /** Committed shares in key order (storage index, then share number), as LevelDB returns them on disk. */
  private sorted(): Held[] {
    return [...this.shares.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, h]) => h);
  }

  async *records(): AsyncGenerator<ShareRecord> {
    this.assertOpen();
    for (const h of this.sorted()) yield { ...h.rec };
  }

  async renewLease(si: Uint8Array, shareNum: number | 'all', owner: string, until: number): Promise<number> {
    this.assertOpen();
    checkSi(si);
    checkOwner(owner);
    checkTime(until, 'until');
    if (shareNum !== 'all') checkShareNum(shareNum);
    const siHex = siToHex(si);
    const capped = this.acct.capLease(until);
    let held: Held[];
    if (shareNum === 'all') {
      held = [...this.shares.values()].filter((h) => h.rec.siHex === siHex && h.rec.owner === owner);
    } else {
      const h = this.shares.get(shareKey(siHex, shareNum));
      if (!h) throw new ShareNotFoundError(siHex, shareNum);
      if (h.rec.owner !== owner) throw new NotOwnerError(siHex, shareNum);
      held = [h];
    }
    for (const h of held) if (capped > h.rec.leaseExpiry) h.rec = { ...h.rec, leaseExpiry: capped };
    return held.length;
  }

  async delete(si: Uint8Array, shareNum: number, owner: string): Promise<void> {
    this.assertOpen();
    checkSi(si);
    checkShareNum(shareNum);
    checkOwner(owner);
    const siHex = siToHex(si);
    const key = shareKey(siHex, shareNum);
    const h = this.shares.get(key);
    if (!h) throw new ShareNotFoundError(siHex, shareNum);
    if (h.rec.owner !== owner) throw new NotOwnerError(siHex, shareNum);
    this.remove(key, h);
  }

  private remove(key: string, h: Held): void {
    this.shares.delete(key);
    this.acct.removeShare(h.rec.owner, h.rec.size);
  }

  async gc(now: number = this.acct.now()): Promise<GcResult> {
    this.assertOpen();
    let removedShares = 0;
    let removedSlots = 0;
    let reclaimedBytes = 0;
    for (const [key, h] of [...this.shares]) {
      if (h.rec.leaseExpiry + this.gcGraceMs >= now) continue;
      this.remove(key, h);
      removedShares++;
      reclaimedBytes += h.rec.size;
    }
    for (const [siHex, s] of [...this.slots]) {
      if (s.rec.leaseExpiry + this.gcGraceMs >= now) continue;
      this.slots.delete(siHex);
      this.acct.removeSlot(s.rec.owner, s.rec.size);
      removedSlots++;
      reclaimedBytes += s.rec.size;
    }
    return { removedShares, reclaimedBytes, removedSlots };
  }

  // ---- mutable slots -----------------------------------------------------------------------------------

  async putSlot(si: Uint8Array, record: Uint8Array, owner: string, opts: SlotPutOptions = {}): Promise<SlotPutResult> {
    this.assertOpen();
    checkSi(si);
    checkOwner(owner);
    if (opts.leaseUntil !== undefined) checkTime(opts.leaseUntil, 'leaseUntil');
    const siHex = siToHex(si);
    const { seq } = checkSlotRecord(si, record);
    const held = this.slots.get(siHex);
    const cur = held?.rec;
    const now = this.acct.now();
    const leaseExpiry = Math.max(this.acct.slotLeaseFor(opts.leaseUntil), cur?.leaseExpiry ?? 0);
    const outcome = await slotPutOutcome(siHex, cur, seq, record, async () => held?.bytes ?? null);
    // Another put of this slot may have landed during the await: decide again against it.
    if (this.slots.get(siHex) !== held) return this.putSlot(si, record, owner, opts);
    if (outcome === 'unchanged') {
      // Renewal by the peer charged with the slot only (a replay by anyone else changes nothing).
      if (owner !== held!.rec.owner) return { status: 'unchanged', seq, size: held!.rec.size, leaseExpiry: held!.rec.leaseExpiry };
      if (leaseExpiry > held!.rec.leaseExpiry) held!.rec = { ...held!.rec, leaseExpiry };
      return { status: 'unchanged', seq, size: held!.rec.size, leaseExpiry };
    }
    const charged = cur?.owner ?? owner;
    await this.acct.admitSlot({ si, size: record.byteLength, owner, previous: cur?.size });
    if (this.slots.get(siHex) !== held) return this.putSlot(si, record, owner, opts);
    const rec: SlotRecord = { siHex, seq, size: record.byteLength, owner: charged, leaseExpiry, created: cur?.created ?? now, updated: now };
    this.slots.set(siHex, { rec, bytes: Uint8Array.from(record) });
    this.acct.putSlot(charged, rec.size, cur?.size);
    return { status: 'stored', seq, size: rec.size, leaseExpiry };
  }

  async getSlot(si: Uint8Array): Promise<Uint8Array | undefined> {
    this.assertOpen();
    checkSi(si);
    return this.slots.get(siToHex(si))?.bytes.slice();
  }

  async getSlotRecord(si: Uint8Array): Promise<SlotRecord | undefined> {
    this.assertOpen();
    checkSi(si);
    const rec = this.slots.get(siToHex(si))?.rec;
    return rec ? { ...rec } : undefined;
  }

  async listSlots(): Promise<SlotRecord[]> {
    this.assertOpen();
    return [...this.slots.values()].map((s) => ({ ...s.rec }));
  }

  async renewSlotLease(si: Uint8Array, until: number, owner: string): Promise<boolean> {
    this.assertOpen();
    checkSi(si);
    checkTime(until, 'until');
    checkOwner(owner);
    const held = this.slots.get(siToHex(si));
    if (!held || held.rec.owner !== owner) return false;
    const capped = this.acct.capSlotLease(until);
    if (capped > held.rec.leaseExpiry) held.rec = { ...held.rec, leaseExpiry: capped };
    return true;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.shares.clear();
    this.slots.clear();
  }
}

/** Chunks copied as they come (the caller may reuse its buffers), joined at commit. */
class MemoryShareWriter implements ShareWriter {
  readonly expectedSize: number;
  written = 0;
  private chunks: Uint8Array[] = [];
  private state: 'open' | 'done' = 'open';
  private readonly store: { commit(bytes: Uint8Array): ShareRecord; release(): void };

  constructor(expectedSize: number, store: { commit(bytes: Uint8Array): ShareRecord; release(): void }) {
    this.expectedSize = expectedSize;
    this.store = store;
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (this.state !== 'open') throw new StoreStateError('writer is no longer open');
    if (this.written + chunk.byteLength > this.expectedSize) {
      const err = new SizeMismatchError(this.expectedSize, this.written + chunk.byteLength);
      await this.abort();
      throw err;
    }
    this.chunks.push(Uint8Array.from(chunk));
    this.written += chunk.byteLength;
  }

  async commit(): Promise<ShareRecord> {
    if (this.state !== 'open') throw new StoreStateError('writer is no longer open');
    if (this.written !== this.expectedSize) {
      const err = new SizeMismatchError(this.expectedSize, this.written);
      await this.abort();
      throw err;
    }
    const bytes = new Uint8Array(this.expectedSize);
    let off = 0;
    for (const c of this.chunks) {
      bytes.set(c, off);
      off += c.byteLength;
    }
    this.chunks = [];
    this.state = 'done';
    try {
      return this.store.commit(bytes);
    } finally {
      this.store.release();
    }
  }

  async abort(): Promise<void> {
    if (this.state === 'done') return;
    this.state = 'done';
    this.chunks = [];
    this.store.release();
  }
}
