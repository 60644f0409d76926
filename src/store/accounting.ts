// The accounting of a storage peer's store, apart from where the bytes live: the quota (offered, used,
// reserved, free), reservations of uploads in progress, admission (busy, quota, then the fairness
// layer's policy), committed bytes per owner, and lease limits. DiskStore and MemoryStore each hold one
// and call it at the same points (admit -> reserve -> commit/release; remove; slots), so a store backend
// is only where the bytes and the index live.
//
// Contract: the store calls `reserve` synchronously after its last await before the write starts (so two
// writers of one share or of the last free bytes cannot both pass), `release` exactly when a writer ends
// (committed or aborted; idempotent), and the add/remove methods when an index entry appears or goes.
import { DEFAULT_LEASE_MS, MAX_LEASE_MS } from './constants.ts';
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
  /** Committed share bytes per owner (slots are not counted: they are small and anyone may write them). */
  private readonly usedBy = new Map<string, number>();

  constructor(init: AccountingInit) {
    this.offered = parseSize(init.offer);
    this.policy = init.policy;
    this.now = init.now ?? Date.now;
  }

  stats(): StoreStats {
    return {
      offered: this.offered,
      used: this.used,
      reserved: this.reserved,
      free: Math.max(0, this.offered - this.used - this.reserved),
      shares: this.shares,
      slots: this.slots,
    };
  }

  // ---- admission and reservations ------------------------------------------------------------------

  /** Admission of a share the store does not hold (it answers `exists` / `conflict` itself): busy, quota, policy. */
  async admit(key: string, req: { si: Uint8Array; shareNum: number; size: number; owner: string }): Promise<AcceptDecision> {
    const { shareNum, size } = req;
    if (this.reservations.has(key)) return { ok: false, reason: 'busy', message: `an upload of share ${shareNum} of ${siToHex(req.si)} is in progress` };
    const st = this.stats();
    if (size > st.free) return { ok: false, reason: 'quota', message: `not enough offered space: ${size} bytes asked, ${st.free} free` };
    if (this.policy) {
      const d = await this.policy({ ...req, stats: st });
      if (!d.ok) return { ok: false, reason: 'policy', message: d.message };
    }
    return { ok: true };
  }

  /** Hold `size` bytes for an upload of share `key` by `owner`; throws ShareRefusedError (busy, quota). Synchronous: see the contract above. */
  reserve(key: string, owner: string, size: number, where: { si: string; shareNum: number }): void {
    if (this.reservations.has(key)) throw new ShareRefusedError('busy', `an upload of share ${where.shareNum} of ${where.si} is in progress`, where);
    if (size > this.stats().free) throw new ShareRefusedError('quota', `not enough offered space for ${size} bytes`, where);
    this.reservations.set(key, { owner, size });
    this.reserved += size;
  }

  /** End the reservation of share `key` (its writer committed or aborted). Idempotent. */
  release(key: string): void {
    const r = this.reservations.get(key);
    if (!r) return;
    this.reservations.delete(key);
    this.reserved -= r.size;
  }

  // ---- committed bytes ------------------------------------------------------------------------------

  addShare(owner: string, size: number): void {
    this.used += size;
    this.shares++;
    this.addOwnerBytes(owner, size);
  }

  removeShare(owner: string, size: number): void {
    this.used -= size;
    this.shares--;
    this.addOwnerBytes(owner, -size);
  }

  /** Throws SlotRefusedError('quota') unless `delta` more bytes fit (a new slot, or a larger record). */
  checkSlotSpace(delta: number, si: string): void {
    const free = this.stats().free;
    if (delta > free) throw new SlotRefusedError('quota', `not enough offered space: ${delta} more bytes asked, ${free} free`, { si });
  }

  /** A slot appeared (`previous` undefined) or its record changed size. */
  putSlot(size: number, previous?: number): void {
    this.used += size - (previous ?? 0);
    if (previous === undefined) this.slots++;
  }

  removeSlot(size: number): void {
    this.used -= size;
    this.slots--;
  }

  private addOwnerBytes(owner: string, delta: number): void {
    const v = (this.usedBy.get(owner) ?? 0) + delta;
    if (v > 0) this.usedBy.set(owner, v);
    else this.usedBy.delete(owner);
  }

  /** Bytes of committed shares held for `owner`, and bytes its uploads in progress have reserved (for admission policies). */
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

  /** A renewal's target, at most now + MAX_LEASE_MS (renewals never shorten a lease: the store compares). */
  capLease(until: number): number {
    return Math.min(until, this.now() + MAX_LEASE_MS);
  }
}
