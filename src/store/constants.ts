// Limits, units and refusal reasons of a storage peer's disk store.
import { RECORD_HEADER_BYTES, RECORD_SIGNATURE_BYTES } from '../caps/constants.ts';

/** Storage index length in bytes (derived by the client from the file key; opaque here). */
export const SI_LENGTH = 16;
/** Share numbers are 0..MAX_SHARE_NUM (n ≤ 256 shares per file). */
export const MAX_SHARE_NUM = 255;
/** Largest single share accepted, in bytes (a share is a 1/k slice of a file; 64 GiB is far above any sane k). */
export const MAX_SHARE_SIZE = 64 * 1024 ** 3;
/** Lease given to a freshly written share when the writer asks for none: 31 days, like Tahoe-LAFS. */
export const DEFAULT_LEASE_MS = 31 * 24 * 3600 * 1000;
/** Longest lease a store grants in one go: 400 days; longer requests are clamped. */
export const MAX_LEASE_MS = 400 * 24 * 3600 * 1000;
/**
 * Longest lease of a mutable slot: 62 days (two default renewal periods, so an owner away for a month keeps its
 * heads). Slots are renewed by their owner, daily, by the health loop; 400 days made a slot filler's records
 * outlive any reaction (docs/PROTOCOL.md "Mutable slots").
 */
export const MAX_SLOT_LEASE_MS = 62 * 24 * 3600 * 1000;
/**
 * Slots one peer may be charged with on this store: a user has a head per folder and a recovery record, a few
 * dozen at most; 256 x 64 KiB bounds a slot filler at 16 MiB per peer id (before its admission allowance).
 */
export const MAX_SLOTS_PER_OWNER = 256;
/**
 * Share uploads one owner may have in progress here at once: a backup runs at most 8 pack uploads (its data and
 * metadata packers, PACK_UPLOADS_IN_FLIGHT each), each with at most one share per peer, so 16 leaves room for a
 * repair.
 */
export const MAX_OPEN_WRITES_PER_OWNER = 16;
/**
 * Bytes one owner's uploads in progress may reserve at once: 1 GiB. One upload of any size is always allowed
 * (a large file's share), so this bounds how much free space slow uploads can hold without sending it.
 */
export const MAX_RESERVED_BYTES_PER_OWNER = 2 ** 30;
/** A share whose lease expired is only collected this long after expiry (clock skew, late renewers). */
export const GC_GRACE_MS = 24 * 3600 * 1000;
/** Hex characters of the storage index used as the fan-out directory under shares/. */
export const SI_PREFIX_CHARS = 2;

/** Directory names under the store's home. */
export const SHARES_DIR = 'shares';
export const INCOMING_DIR = 'incoming';
export const INDEX_DIR = 'index.leveldb';
/** Mutable slots (signed records with sequence numbers): <home>/slots/<si prefix>/<si hex>. */
export const SLOTS_DIR = 'slots';

/** Largest record payload (plaintext) a store keeps in a slot: 64 KiB (a folder head, not a file). */
export const SLOT_MAX_PAYLOAD_BYTES = 64 * 1024;
/** Largest slot record: header + payload + AEAD tag + signature (docs/FORMAT.md "Mutable records"). */
export const SLOT_MAX_RECORD_BYTES = RECORD_HEADER_BYTES + SLOT_MAX_PAYLOAD_BYTES + 16 + RECORD_SIGNATURE_BYTES;

/**
 * Why a store refuses a slot record:
 * - stale: its seq is lower than the stored one, or equal with different bytes;
 * - wrong-slot: its public key does not derive this storage index (someone else's slot);
 * - bad-signature: the signature does not verify;
 * - invalid: malformed (bounds, magic, version, lengths);
 * - too-large: above SLOT_MAX_RECORD_BYTES;
 * - quota: not enough offered space left;
 * - policy: the admission policy (fairness) refused the bytes to the peer that would be charged;
 * - limit: that peer is already charged with MAX_SLOTS_PER_OWNER slots here.
 */
export const SLOT_REFUSAL_REASONS = ['stale', 'wrong-slot', 'bad-signature', 'invalid', 'too-large', 'quota', 'policy', 'limit'] as const;
export type SlotRefusalReason = (typeof SLOT_REFUSAL_REASONS)[number];

/**
 * Why a store refuses a share:
 * - quota: not enough offered space left;
 * - exists: this owner already stored this (si, shareNum): the client counts it as placed;
 * - conflict: another owner holds this (si, shareNum): place it elsewhere;
 * - busy: an upload of this (si, shareNum) is in progress, or the owner already has MAX_OPEN_WRITES_PER_OWNER
 *   uploads (or MAX_RESERVED_BYTES_PER_OWNER reserved) in progress here;
 * - policy: the admission policy (fairness layer) said no;
 * - invalid: a malformed argument (bad si, shareNum, size).
 */
export const REFUSAL_REASONS = ['quota', 'exists', 'conflict', 'busy', 'policy', 'invalid'] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

/** Size units accepted by parseSize (binary for *iB, decimal for *B). */
export const SIZE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  pb: 1e15,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
  pib: 1024 ** 5,
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
  t: 1024 ** 4
};

/**
 * Least number of bytes a stored share is charged, whatever its size: every share costs the holder a file
 * (an inode and at least one filesystem block) and an index entry, so the smallest valid shares (a few hundred
 * bytes: a one-byte pack's header and hashes) cannot fill a peer's inodes and index for almost no charge
 * (issue 17 item 7). Counted in `used`, reservations, quota and fairness admission alike.
 */
export const MIN_SHARE_CHARGE = 4096;
