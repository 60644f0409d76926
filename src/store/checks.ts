// Argument checks every store runs on what it is given (the network hands it bytes from peers), and the
// key naming one share. Shared by DiskStore, MemoryStore and the storage client.
import { MAX_SHARE_NUM, MAX_SHARE_SIZE, SI_LENGTH } from './constants.ts';
import { InvalidArgumentError } from './errors.ts';
import type { AcceptDecision, ShareRecord } from './types.ts';

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

export function checkSize(size: unknown): asserts size is number {
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0 || size > MAX_SHARE_SIZE) {
    throw new InvalidArgumentError(`share size must be an integer 0..${MAX_SHARE_SIZE}, got ${String(size)}`, { size });
  }
}

export function checkOwner(owner: unknown): asserts owner is string {
  if (typeof owner !== 'string' || owner.length === 0 || owner.length > 256) {
    throw new InvalidArgumentError('owner must be a non-empty peer ID string', { owner });
  }
}

export function checkTime(t: unknown, what: string): asserts t is number {
  if (typeof t !== 'number' || !Number.isSafeInteger(t) || t < 0) throw new InvalidArgumentError(`${what} must be ms since epoch`, { [what]: t });
}

/** The key of one share, in a store's index and in its reservations: 's!<si hex>!<share number, 3 digits>'
 *  (sorts by storage index, then share number). */
export const shareKey = (siHex: string, shareNum: number) => `s!${siHex}!${String(shareNum).padStart(3, '0')}`;

/** A store's answer for a share it already holds: `exists` to its owner (count it as placed), `conflict` to anyone else. */
export function heldDecision(rec: ShareRecord, owner: string): AcceptDecision {
  if (rec.owner === owner) return { ok: false, reason: 'exists', message: `already have share ${rec.shareNum} of ${rec.siHex} from you (${rec.size} bytes)` };
  return { ok: false, reason: 'conflict', message: `share ${rec.shareNum} of ${rec.siHex} is held for another peer` };
}
