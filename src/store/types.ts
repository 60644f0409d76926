// The contract of a storage peer's store. DiskStore and MemoryStore implement it (LocalStore); the network
// server only sees ShareStore.
import type { RefusalReason } from './constants.ts';

/** Result of an admission check. `exists` means "already have it from you": count it as placed. */
export type AcceptDecision = { ok: true } | { ok: false; reason: RefusalReason; message: string };

/** What an admission policy (a later fairness layer) is told about a candidate share. */
export interface AdmissionRequest {
  si: Uint8Array;
  shareNum: number;
  size: number;
  /** Uploader's peer ID string (authenticated by the transport). */
  owner: string;
  stats: StoreStats;
  /** A share (the default) or a new mutable slot (shareNum is then 0 and size the record's bytes). */
  kind?: 'share' | 'slot';
}
/** Plug-in admission policy: return {ok:true} to let the quota decide, or a refusal (reason 'policy'). */
export type AdmissionPolicy = (req: AdmissionRequest) => AcceptDecision | Promise<AcceptDecision>;

export interface StoreStats {
  /** Bytes offered to the swarm (the quota). */
  offered: number;
  /** Bytes held by committed shares. */
  used: number;
  /** Bytes reserved by uploads in progress. */
  reserved: number;
  /** offered - used - reserved, never negative. */
  free: number;
  /** Number of committed shares. */
  shares: number;
  /** Number of mutable slots held (their bytes are part of `used`). */
  slots: number;
}

/** One index record. */
export interface ShareRecord {
  siHex: string;
  shareNum: number;
  size: number;
  owner: string;
  /** Lease expiry, ms since epoch. */
  leaseExpiry: number;
  /** Commit time, ms since epoch. */
  created: number;
}

export interface ShareListing {
  shareNum: number;
  size: number;
}

export interface WriteOptions {
  /** Lease expiry (ms since epoch); default now + DEFAULT_LEASE_MS, clamped to now + MAX_LEASE_MS. */
  leaseUntil?: number;
}

/** A streamed upload: nothing is visible until commit() returns. */
export interface ShareWriter {
  readonly expectedSize: number;
  readonly written: number;
  /** `chunk` is the caller's again once this settles (the server reuses one buffer frame after frame): keep no view of it. */
  write(chunk: Uint8Array): Promise<void>;
  /** fsync, check size = expectedSize, rename into place, index. */
  commit(): Promise<ShareRecord>;
  /** Drop the temp file; safe to call more than once and after a failed commit. */
  abort(): Promise<void>;
}

export interface GcResult {
  removedShares: number;
  reclaimedBytes: number;
  /** Slots whose lease expired (their bytes are counted in reclaimedBytes). */
  removedSlots: number;
}

/** Index entry of a mutable slot (key `m!<si hex>`); the record itself is the file slots/<prefix>/<si hex>. */
export interface SlotRecord {
  siHex: string;
  /** Sequence number of the stored record. */
  seq: number;
  /** Bytes of the stored record (counts toward the quota). */
  size: number;
  /**
   * Peer charged with the slot: the first to store it (a newer record from anyone keeps it). Only this peer
   * renews the slot by putting the same bytes again; authority over the content is the record's signature.
   */
  owner: string;
  /** Lease expiry, ms since epoch. */
  leaseExpiry: number;
  /** First put of this slot / last replacement, ms since epoch. */
  created: number;
  updated: number;
}

export interface SlotPutOptions {
  /** Lease expiry to ask for (ms since epoch); default now + DEFAULT_LEASE_MS, clamped to MAX_SLOT_LEASE_MS; leases never shrink. */
  leaseUntil?: number;
}

/** `stored`: the record replaced an older one (or was the first); `unchanged`: the same bytes were already stored (lease renewed). */
export interface SlotPutResult {
  status: 'stored' | 'unchanged';
  seq: number;
  size: number;
  leaseExpiry: number;
}

/**
 * Mutable slots: one signed record per storage index, replaced only by a valid record with a higher seq.
 * Anyone may put (the signature is the authority); the store checks the record against the slot itself and
 * charges a new slot to the peer that stores it (admission policy, per-peer slot limit).
 */
export interface SlotStore {
  /** Validate and store `record` under `si`; throws SlotRefusedError (reason: stale, wrong-slot, bad-signature, invalid, too-large, quota, policy, limit). */
  putSlot(si: Uint8Array, record: Uint8Array, owner: string, opts?: SlotPutOptions): Promise<SlotPutResult>;
  /** The stored record bytes, or undefined. */
  getSlot(si: Uint8Array): Promise<Uint8Array | undefined>;
  listSlots(): Promise<SlotRecord[]>;
  /** Extend (never shorten) a slot's lease, for the peer charged with it only. False if no such slot or not `owner`'s. */
  renewSlotLease(si: Uint8Array, until: number, owner: string): Promise<boolean>;
}

/** A storage peer's store. Slot methods are optional so a share-only store still serves (slot requests then fail with ERR_UNSUPPORTED). */
export interface ShareStore extends Partial<SlotStore> {
  stats(): StoreStats;
  canAccept(si: Uint8Array, shareNum: number, size: number, owner: string): Promise<AcceptDecision>;
  /** Throws ShareRefusedError (reason as canAccept) when it cannot take the share. */
  beginWrite(si: Uint8Array, shareNum: number, owner: string, expectedSize: number, opts?: WriteOptions): Promise<ShareWriter>;
  read(si: Uint8Array, shareNum: number, offset: number, length: number): Promise<Uint8Array>;
  list(si: Uint8Array): Promise<ShareListing[]>;
  get(si: Uint8Array, shareNum: number): Promise<ShareRecord | undefined>;
  /** Extend (never shorten) the lease of one share or all of `owner`'s shares of `si`; returns how many were renewed. */
  renewLease(si: Uint8Array, shareNum: number | 'all', owner: string, until: number): Promise<number>;
  delete(si: Uint8Array, shareNum: number, owner: string): Promise<void>;
  gc(now?: number): Promise<GcResult>;
  close(): Promise<void>;
}

/**
 * The store a peer keeps for the swarm (DiskStore, MemoryStore; chosen by config `store.kind`): shares and
 * slots, plus what the peer itself reads: per-owner usage for the fairness layer, and every record.
 */
export interface LocalStore extends Omit<ShareStore, keyof SlotStore>, SlotStore {
  /** Bytes of committed shares held for `owner`, and bytes its uploads in progress have reserved. */
  ownerUsage(owner: string): { used: number; reserved: number };
  /** Committed share bytes per owner (slots are not counted: they are small and anyone may write them). */
  usageByOwner(): Map<string, number>;
  /** Every share record, in storage index then share number order (status, tests). */
  records(): AsyncGenerator<ShareRecord>;
  /** The index entry of a slot, or undefined. */
  getSlotRecord(si: Uint8Array): Promise<SlotRecord | undefined>;
}
