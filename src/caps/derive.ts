// One-way derivations between caps, and storage indexes.
import { TAGS } from '../crypto/constants.ts';
import { taggedHash } from '../crypto/hash.ts';
import { storageIndexFromKey } from '../crypto/kdf.ts';
import { ed25519PublicKey } from '../crypto/sign.ts';
import { STORAGE_INDEX_BYTES } from './constants.ts';
import { InvalidCapError } from './errors.ts';
import type { Cap, MutableReadCap, MutableVerifyCap, MutableWriteCap, ReadCap, SliceCap, VerifyCap } from './types.ts';

export function mutablePublicKey(cap: MutableWriteCap): Uint8Array {
  return ed25519PublicKey(cap.seed);
}
export function pubKeyHashOf(publicKey: Uint8Array): Uint8Array {
  return taggedHash(TAGS.mutablePubKey, publicKey);
}

export function toReadCap(cap: MutableWriteCap | MutableReadCap): MutableReadCap {
  if (cap.type === 'mr') return cap;
  return { type: 'mr', pubKeyHash: pubKeyHashOf(mutablePublicKey(cap)), readKey: taggedHash(TAGS.mutableReadKey, cap.seed) };
}

/** The cap whose shares hold this cap's bytes: a slice's pack, otherwise the cap itself. */
export function storedCapOf(cap: Cap): Exclude<Cap, SliceCap> {
  return cap.type === 'slice' ? cap.pack : cap;
}

export function toVerifyCap(cap: ReadCap | VerifyCap | SliceCap): VerifyCap;
export function toVerifyCap(cap: MutableWriteCap | MutableReadCap | MutableVerifyCap): MutableVerifyCap;
export function toVerifyCap(cap: Cap): VerifyCap | MutableVerifyCap;
export function toVerifyCap(cap: Cap): VerifyCap | MutableVerifyCap {
  switch (cap.type) {
    case 'chk': return { type: 'chkv', storageIndex: storageIndexFromKey(cap.key), uebHash: cap.uebHash, k: cap.k, n: cap.n, size: cap.size };
    case 'slice': return toVerifyCap(cap.pack);
    case 'chkv': case 'mv': return cap;
    case 'mw': case 'mr': return { type: 'mv', pubKeyHash: toReadCap(cap).pubKeyHash };
    default: throw new InvalidCapError('ERR_CAP_WRONG_KIND', 'a literal cap has no verify cap (it has no shares)');
  }
}

/** 16-byte storage index of a cap, or null for a literal cap (nothing is stored). */
export function storageIndexOf(cap: Cap): Uint8Array | null {
  switch (cap.type) {
    case 'lit': return null;
    case 'chk': return storageIndexFromKey(cap.key);
    case 'chkv': return cap.storageIndex;
    case 'slice': return storageIndexFromKey(cap.pack.key);
    default: return taggedHash(TAGS.mutableStorageIndex, toVerifyCap(cap).pubKeyHash).slice(0, STORAGE_INDEX_BYTES);
  }
}
