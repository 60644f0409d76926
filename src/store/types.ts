// The contract of a storage peer's store. DiskStore implements it; the network server only sees this.
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

export interface ShareListing { shareNum: number; size: number }

export interface WriteOptions {
  /** Lease expiry (ms since epoch); default now + DEFAULT_LEASE_MS, clamped to now + MAX_LEASE_MS. */
  leaseUntil?: number;
}

/** A streamed upload: nothing is visible until commit() returns. */
export interface ShareWriter {
  readonly expectedSize: number;
  readonly written: number;
  write(chunk: Uint8Array): Promise<void>;
  /** fsync, check size = expectedSize, rename into place, index. */
  commit(): Promise<ShareRecord>;
  /** Drop the temp file; safe to call more than once and after a failed commit. */
  abort(): Promise<void>;
}

export interface GcResult { removedShares: number; reclaimedBytes: number }

export interface ShareStore {
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
