// File-key derivation. A convergent key makes identical files (under one convergence secret and
// the same encoding parameters) produce identical ciphertext and shares; a random key never converges.
import { KEY_BYTES, TAGS } from './constants.ts';
import { CryptoInputError } from './errors.ts';
import { taggedHash } from './hash.ts';
import { randomBytes } from './random.ts';

export interface KeyParams { k: number; n: number; segmentSize: number }

/** Canonical bytes of the encoding parameters mixed into a convergent key: u8 k, u8 n, u32be segmentSize. */
export function encodeKeyParams(p: KeyParams): Uint8Array {
  const b = new Uint8Array(6);
  b[0] = p.k; b[1] = p.n;
  new DataView(b.buffer).setUint32(2, p.segmentSize);
  return b;
}

/** key = H(TAGS.convergentKey, secret, params, plaintextHash). */
export function convergentKey(secret: Uint8Array, params: KeyParams, plaintextHash: Uint8Array): Uint8Array {
  if (plaintextHash.length !== 32) throw new CryptoInputError('plaintext hash must be 32 bytes');
  return taggedHash(TAGS.convergentKey, secret, encodeKeyParams(params), plaintextHash);
}

export function randomKey(): Uint8Array {
  return randomBytes(KEY_BYTES);
}

/** 16-byte storage index of an immutable file: H(TAGS.storageIndex, key)[0..16]. */
export function storageIndexFromKey(key: Uint8Array): Uint8Array {
  if (key.length !== KEY_BYTES) throw new CryptoInputError(`key must be ${KEY_BYTES} bytes`);
  return taggedHash(TAGS.storageIndex, key).slice(0, 16);
}
