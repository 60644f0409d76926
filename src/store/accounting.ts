// The accounting of a storage peer's store, apart from where the bytes live: the quota (offered, used,
// reserved, free), reservations of uploads in progress, admission (busy, quota, then the fairness
// layer's policy), committed bytes per owner, and lease limits. DiskStore and MemoryStore each hold one
// and call it at the same points (admit -> reserve -> commit/release; remove; slots), so a store backend
// is only where the bytes and the index live.
//
// Contract: the store calls `reserve` synchronously after its last await before the write starts (so two
// writers of one share or of the last free bytes cannot both pass), `release` exactly when a writer ends
// (committed or aborted; idempotent), and the add/remove methods when an index entry appears or goes.
import {
  DEFAULT_LEASE_MS,
  MAX_LEASE_MS,
  MAX_OPEN_WRITES_PER_OWNER,
  MAX_RESERVED_BYTES_PER_OWNER,
  MAX_SLOTS_PER_OWNER,
  MAX_SLOT_LEASE_MS,
  MIN_SHARE_CHARGE
} from './constants.ts';
import { siToHex } from './checks.ts';
import { ShareRefusedError, SlotRefusedError } from './errors.ts';
import { parseSize } from './size.ts';
import type { AcceptDecision, AdmissionPolicy, StoreStats } from './types.ts';

export interface AccountingInit {
  /** Space offered to the swarm: bytes or a human size ("20GiB", "500MB"). */
  offer: number | string;
  /** Consulted after the quota check (the fairness layer's hook). */
  policy?: AdmissionPolicy;
  /** Clock for leases, ms since epoch. */
  now?: () => number;
  /** Per-owner limits (defaults MAX_OPEN_WRITES_PER_OWNER, MAX_RESERVED_BYTES_PER_OWNER, MAX_SLOTS_PER_OWNER). */
  limits?: Partial<OwnerLimits>;
}

/** What one peer may hold in flight or in slots on a store (docs/PROTOCOL.md "Limits"). */
export interface OwnerLimits {
  openWrites: number;
  reservedBytes: number;
  slots: number;
}

/** Bytes a share of `size` bytes is charged on a store (at least MIN_SHARE_CHARGE). */
export function shareCharge(size: number): number {
  return Math.max(size, MIN_SHARE_CHARGE);
}

export class StoreAccounting {
  readonly offered: number;
  readonly now: () => number;
  private readonly policy?: AdmissionPolicy;
  private used = 0;
  private shares = 0;
  private slots = 0;
  private reserved = 0;
  /** Uploads in progress, by share key: who reserved how many bytes. */
  private readonly reservations = new Map<string, { owner: string; size: number }>();
  /** Committed share and slot bytes per owner (a slot is charged to the peer that first stored it). */
  private readonly usedBy = new Map<string, number>();
  /** Slots charged to each owner. */
  private readonly slotsBy = new Map<string, number>();
  readonly limits: OwnerLimits;

  constructor(init: AccountingInit) {
    this.offered = parseSize(init.offer);
    this.policy = init.policy;
    this.now = init.now ?? Date.now;
    this.limits = {
      openWrites: init.limits?.openWrites ?? MAX_OPEN_WRITES_PER_OWNER,
      reservedBytes: init.limits?.reservedBytes ?? MAX_RESERVED_BYTES_PER_OWNER,
      slots: init.limits?.slots ?? MAX_SLOTS_PER_OWNER
    };
  }

  stats(): StoreStats {
    return {
      offered: this.offered,
      used: this.used,
      reserved: this.reserved,
      free: Math.max(0, this.offered - this.used - this.reserved),
      shares: this.shares,
      slots: this.slots
    };
  }

  // ---- admission and reservations ------------------------------------------------------------------

  /** Admission of a share the store does not hold (it answers `exists` / `conflict` itself): busy, quota, policy. */
  async admit(key: string, req: { si: Uint8Array; shareNum: number; size: number; owner: string }): Promise<AcceptDecision> {
    const { shareNum } = req;
    const size = shareCharge(req.size);
    if (this.reservations.has(key)) return { ok: false, reason: 'busy', message: `an upload of share ${shareNum} of ${siToHex(req.si)} is in progress` };
    const tooMany = this.ownerWriteLimit(req.owner, size);
    if (tooMany) return { ok: false, reason: 'busy', message: tooMany };
    const st = this.stats();
    if (size > st.free) return { ok: false, reason: 'quota', message: `not enough offered space: ${size} bytes asked, ${st.free} free` };
    if (this.policy) {
      const d = await this.policy({ ...req, size, stats: st });
      if (!d.ok) return { ok: false, reason: 'policy', message: d.message };
    }
    return { ok: true };
  }

  /** Hold `size` bytes for an upload of share `key` by `owner`; throws ShareRefusedError (busy, quota). Synchronous: see the contract above. */
  reserve(key: string, owner: string, bytes: number, where: { si: string; shareNum: number }): void {
    const size = shareCharge(bytes);
    if (this.reservations.has(key)) throw new ShareRefusedError('busy', `an upload of share ${where.shareNum} of ${where.si} is in progress`, where);
    const tooMany = this.ownerWriteLimit(owner, size);
    if (tooMany) throw new ShareRefusedError('busy', tooMany, where);
    if (size > this.stats().free) throw new ShareRefusedError('quota', `not enough offered space for ${size} bytes`, where);
    this.reservations.set(key, { owner, size });
    this.reserved += size;
  }

  /**
   * Why `owner` may not start another upload of `size` bytes now, or null: at most `openWrites` uploads in
   * progress, and at most `reservedBytes` reserved by them unless this is its only one (a large share).
   */
  private ownerWriteLimit(owner: string, size: number): string | null {
    let count = 0;
    let bytes = 0;
    for (const r of this.reservations.values())
      if (r.owner === owner) {
        count++;
        bytes += r.size;
      }
    if (count >= this.limits.openWrites) return `you have ${count} uploads in progress here, the most one peer may have (${this.limits.openWrites})`;
    if (count > 0 && bytes + size > this.limits.reservedBytes)
      return `your uploads in progress here already reserve ${bytes} bytes; ${size} more would pass the ${this.limits.reservedBytes}-byte limit per peer`;
    return null;
  }

  /** End the reservation of share `key` (its writer committed or aborted). Idempotent. */
  release(key: string): void {
    const r = this.reservations.get(key);
    if (!r) return;
    this.reservations.delete(key);
    this.reserved -= r.size;
  }

  // ---- committed bytes ------------------------------------------------------------------------------

  addShare(owner: string, bytes: number): void {
    const size = shareCharge(bytes);
    this.used += size;
    this.shares++;
    this.addOwnerBytes(owner, size);
  }

  removeShare(owner: string, bytes: number): void {
    const size = shareCharge(bytes);
    this.used -= size;
    this.shares--;
    this.addOwnerBytes(owner, -size);
  }

  /**
   * Admission of a slot record of `size` bytes (`previous`: the stored record's size, absent for a new slot):
   * the quota; for a new slot, the per-peer slot limit and the admission policy too (a slot is charged to the
   * peer that first stores it, under the same rule as its shares). Throws SlotRefusedError (quota, limit, policy).
   */
  async admitSlot(req: { si: Uint8Array; size: number; owner: string; previous?: number }): Promise<void> {
    const si = siToHex(req.si);
    const delta = req.size - (req.previous ?? 0);
    const st = this.stats();
    if (delta > st.free) throw new SlotRefusedError('quota', `not enough offered space: ${delta} more bytes asked, ${st.free} free`, { si });
    if (req.previous !== undefined) return;
    const held = this.slotsBy.get(req.owner) ?? 0;
    if (held >= this.limits.slots)
      throw new SlotRefusedError('limit', `you already have ${held} slots here, the most one peer may have (${this.limits.slots})`, {
        si,
        limit: this.limits.slots
      });
    if (this.policy) {
      const d = await this.policy({ si: req.si, shareNum: 0, size: req.size, owner: req.owner, stats: st, kind: 'slot' });
      if (!d.ok) throw new SlotRefusedError('policy', d.message, { si });
    }
  }

  /** A slot appeared (`previous` undefined) or its record changed size; `owner`: the peer charged with it. */
  putSlot(owner: string, size: number, previous?: number): void {
    this.used += size - (previous ?? 0);
    this.addOwnerBytes(owner, size - (previous ?? 0));
    if (previous === undefined) {
      this.slots++;
      this.addOwnerSlots(owner, 1);
    }
  }

  removeSlot(owner: string, size: number): void {
    this.used -= size;
    this.slots--;
    this.addOwnerBytes(owner, -size);
    this.addOwnerSlots(owner, -1);
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

  /** Bytes of committed shares and slots held for `owner`, and bytes its uploads in progress have reserved (for admission policies). */
  ownerUsage(owner: string): { used: number; reserved: number } {
    let reserved = 0;
    for (const r of this.reservations.values()) if (r.owner === owner) reserved += r.size;
    return { used: this.usedBy.get(owner) ?? 0, reserved };
  }

  /** Committed share bytes per owner. */
  usageByOwner(): Map<string, number> {
    return new Map(this.usedBy);
  }

  // ---- leases -----------------------------------------------------------------------------------------

  /** The lease of a new share or slot record: as asked (default now + DEFAULT_LEASE_MS), at most now + MAX_LEASE_MS. */
  leaseFor(asked?: number): number {
    const now = this.now();
    return Math.min(asked ?? now + DEFAULT_LEASE_MS, now + MAX_LEASE_MS);
  }

  /** The lease of a slot record: as asked (default now + DEFAULT_LEASE_MS), at most now + MAX_SLOT_LEASE_MS. */
  slotLeaseFor(asked?: number): number {
    const now = this.now();
    return Math.min(asked ?? now + DEFAULT_LEASE_MS, now + MAX_SLOT_LEASE_MS);
  }

  /** A slot renewal's target, at most now + MAX_SLOT_LEASE_MS. */
  capSlotLease(until: number): number {
    return Math.min(until, this.now() + MAX_SLOT_LEASE_MS);
  }

  /** A renewal's target, at most now + MAX_LEASE_MS (renewals never shorten a lease: the store compares). */
  capLease(until: number): number {
    return Math.min(until, this.now() + MAX_LEASE_MS);
  }
}
