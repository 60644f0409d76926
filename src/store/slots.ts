// Mutable slots on a storage peer: one signed, sequence-numbered record per storage index (a folder's head).
// The store checks every record against the slot before keeping it, so a peer cannot plant a record under
// someone else's slot, forge one, or roll a slot back:
//   1. the record's public key must derive the slot's storage index (storageIndexOf({type:'mv', pubKeyHash}));
//   2. its signature must verify (the signed digest also covers the storage index);
//   3. its seq must be higher than the stored one (equal seq and identical bytes: idempotent, renews the lease).
// Authority is the signature, not the uploading peer: anyone may relay a newer record (repair).
// Files: <home>/slots/<si prefix>/<si hex>, written to incoming/ then fsynced and renamed; index keys 'm!<si hex>'.
import { join } from 'node:path';
import { InvalidRecordError, pubKeyHashOf, storageIndexOf, verifyRecord } from '../caps/index.ts';
import { RECORD_HEADER_BYTES } from '../caps/constants.ts';
import type { MutableVerifyCap } from '../caps/index.ts';
import type { SlotRecord } from './types.ts';
import { SI_PREFIX_CHARS, SLOTS_DIR, SLOT_MAX_RECORD_BYTES } from './constants.ts';
import { SlotRefusedError } from './errors.ts';

/** LevelDB key prefix of slot index entries (shares use 's!'). */
export const SLOT_KEY_PREFIX = 'm!';
export const slotKey = (siHex: string) => `${SLOT_KEY_PREFIX}${siHex}`;
/** Key range of every slot entry. */
export const SLOT_KEY_RANGE = { gte: SLOT_KEY_PREFIX, lt: 'm"' } as const;

export function slotPath(home: string, siHex: string): string {
  return join(home, SLOTS_DIR, siHex.slice(0, SI_PREFIX_CHARS), siHex);
}

/**
 * Check that `record` is a well-formed record of slot `si`, signed by the slot's key. Returns its seq.
 * Throws SlotRefusedError with reason too-large, invalid, wrong-slot or bad-signature.
 */
export function checkSlotRecord(si: Uint8Array, record: Uint8Array): { seq: number } {
  const siHex = Buffer.from(si).toString('hex');
  if (!(record instanceof Uint8Array)) throw new SlotRefusedError('invalid', 'slot record must be bytes', { si: siHex });
  if (record.byteLength > SLOT_MAX_RECORD_BYTES) {
    throw new SlotRefusedError('too-large', `slot record of ${record.byteLength} bytes exceeds ${SLOT_MAX_RECORD_BYTES}`, {
      si: siHex,
      size: record.byteLength,
      max: SLOT_MAX_RECORD_BYTES
    });
  }
  if (record.byteLength < RECORD_HEADER_BYTES) throw new SlotRefusedError('invalid', 'slot record too short', { si: siHex, size: record.byteLength });
  const cap: MutableVerifyCap = { type: 'mv', pubKeyHash: pubKeyHashOf(record.subarray(16, 48)) };
  if (Buffer.compare(storageIndexOf(cap)!, si) !== 0) {
    throw new SlotRefusedError('wrong-slot', `record is signed by a key that does not own slot ${siHex}`, { si: siHex });
  }
  try {
    return { seq: verifyRecord(cap, record).seq };
  } catch (e) {
    if (e instanceof InvalidRecordError) {
      const reason = e.code === 'ERR_RECORD_BAD_SIGNATURE' ? 'bad-signature' : e.code === 'ERR_RECORD_WRONG_KEY' ? 'wrong-slot' : 'invalid';
      throw new SlotRefusedError(reason, `slot record refused: ${e.message}`, { si: siHex });
    }
    throw e;
  }
}

/**
 * What a put of a checked `record` (its `seq`) does to a slot that holds `cur`: 'store' (first record or a
 * higher seq) or 'unchanged' (the very bytes stored: a renewal). Anything else throws SlotRefusedError
 * ('stale', with the stored seq). `stored` reads the stored bytes, only when they could be the same.
 */
export async function slotPutOutcome(
  siHex: string,
  cur: SlotRecord | undefined,
  seq: number,
  record: Uint8Array,
  stored: () => Promise<Uint8Array | null>
): Promise<'store' | 'unchanged'> {
  if (!cur || seq > cur.seq) return 'store';
  if (seq === cur.seq && cur.size === record.byteLength) {
    const bytes = await stored();
    if (bytes && Buffer.compare(bytes, record) === 0) return 'unchanged';
  }
  throw new SlotRefusedError('stale', `slot ${siHex} already holds seq ${cur.seq}; record has seq ${seq}${seq === cur.seq ? ' with different bytes' : ''}`, {
    si: siHex,
    seq,
    storedSeq: cur.seq
  });
}
