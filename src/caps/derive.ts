// One-way derivations between caps, and storage indexes.
import { TAGS } from '../crypto/constants.ts';
import { taggedHash } from '../crypto/hash.ts';
import { ed25519PublicKey } from '../crypto/sign.ts';
import { STORAGE_INDEX_BYTES } from './constants.ts';
import { InvalidCapError } from './errors.ts';
import type { Cap, MutableReadCap, MutableVerifyCap, MutableWriteCap, PackCap } from './types.ts';

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

/** The storage index of a pack: a tagged hash of its UEB hash, so a storage peer can check that a share belongs to it. */
export function packStorageIndex(uebHash: Uint8Array): Uint8Array {
  return taggedHash(TAGS.packStorageIndex, uebHash).slice(0, STORAGE_INDEX_BYTES);
}

export function toVerifyCap(cap: PackCap): PackCap;
export function toVerifyCap(cap: MutableWriteCap | MutableReadCap | MutableVerifyCap): MutableVerifyCap;
export function toVerifyCap(cap: Cap): PackCap | MutableVerifyCap;
export function toVerifyCap(cap: Cap): PackCap | MutableVerifyCap {
  switch (cap.type) {
    case 'pack':
    case 'mv':
      return cap;
    case 'mw':
    case 'mr':
      return { type: 'mv', pubKeyHash: toReadCap(cap).pubKeyHash };
    case 'blob':
      throw new InvalidCapError('ERR_CAP_WRONG_KIND', 'a blob cap has no verify cap of its own: check the packs it reaches (p2pbackup check)');
    default:
      throw new InvalidCapError('ERR_CAP_WRONG_KIND', 'a literal cap has no verify cap (nothing is stored)');
  }
}

/** 16-byte storage index of a cap, or null for caps that name nothing stored by themselves (literal, blob). */
export function storageIndexOf(cap: Cap): Uint8Array | null {
  switch (cap.type) {
    case 'lit':
    case 'blob':
      return null;
    case 'pack':
      return packStorageIndex(cap.uebHash);
    default:
      return taggedHash(TAGS.mutableStorageIndex, toVerifyCap(cap).pubKeyHash).slice(0, STORAGE_INDEX_BYTES);
  }
}
