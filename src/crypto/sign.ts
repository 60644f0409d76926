// Ed25519 (RFC 8032) sign/verify through node:crypto, keyed by a raw 32-byte seed / public key.
import { createPrivateKey, createPublicKey, sign as nodeSign, verify as nodeVerify, type KeyObject } from 'node:crypto';
import { ED25519_PUBLIC_BYTES, ED25519_SEED_BYTES, ED25519_SIGNATURE_BYTES } from './constants.ts';
import { CryptoInputError } from './errors.ts';

const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/**
 * The key objects of the last KEYS_KEPT seeds: a daemon signs and checks records of the same few slots (its
 * repository record, its folder heads) over and over, and deriving a key from its seed costs about a millisecond.
 */
const KEYS_KEPT = 64;
const keys = new Map<string, { priv: KeyObject; pub?: Uint8Array }>();

function keysOf(seed: Uint8Array): { priv: KeyObject; pub?: Uint8Array } {
  if (seed.length !== ED25519_SEED_BYTES) throw new CryptoInputError('Ed25519 seed must be 32 bytes', { length: seed.length });
  const id = Buffer.from(seed.buffer, seed.byteOffset, seed.length).toString('base64');
  let k = keys.get(id);
  if (k) {
    keys.delete(id); // most recently used last
  } else {
    k = { priv: createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' }) };
    if (keys.size >= KEYS_KEPT) keys.delete(keys.keys().next().value!);
  }
  keys.set(id, k);
  return k;
}

function privateKey(seed: Uint8Array): KeyObject {
  return keysOf(seed).priv;
}

function publicKeyObject(pub: Uint8Array): KeyObject {
  if (pub.length !== ED25519_PUBLIC_BYTES) throw new CryptoInputError('Ed25519 public key must be 32 bytes', { length: pub.length });
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, pub]), format: 'der', type: 'spki' });
}

export function ed25519PublicKey(seed: Uint8Array): Uint8Array {
  const k = keysOf(seed);
  if (!k.pub) {
    const der = createPublicKey(k.priv).export({ format: 'der', type: 'spki' });
    k.pub = new Uint8Array(der.subarray(der.length - 32));
  }
  return new Uint8Array(k.pub); // the caller's own copy
}

export function ed25519Sign(seed: Uint8Array, message: Uint8Array): Uint8Array {
  return new Uint8Array(nodeSign(null, message, privateKey(seed)));
}

/** False for a bad signature or malformed inputs of the right sizes; throws only on wrong sizes of the key. */
export function ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (signature.length !== ED25519_SIGNATURE_BYTES) return false;
  try {
    return nodeVerify(null, message, publicKeyObject(publicKey), signature);
  } catch {
    return false;
  }
}
