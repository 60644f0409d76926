// Ed25519 (RFC 8032) sign/verify through node:crypto, keyed by a raw 32-byte seed / public key.
import { createPrivateKey, createPublicKey, sign as nodeSign, verify as nodeVerify, type KeyObject } from 'node:crypto';
import { ED25519_PUBLIC_BYTES, ED25519_SEED_BYTES, ED25519_SIGNATURE_BYTES } from './constants.ts';
import { CryptoInputError } from './errors.ts';

const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

function privateKey(seed: Uint8Array): KeyObject {
  if (seed.length !== ED25519_SEED_BYTES) throw new CryptoInputError('Ed25519 seed must be 32 bytes', { length: seed.length });
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

function publicKeyObject(pub: Uint8Array): KeyObject {
  if (pub.length !== ED25519_PUBLIC_BYTES) throw new CryptoInputError('Ed25519 public key must be 32 bytes', { length: pub.length });
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, pub]), format: 'der', type: 'spki' });
}

export function ed25519PublicKey(seed: Uint8Array): Uint8Array {
  const der = createPublicKey(privateKey(seed)).export({ format: 'der', type: 'spki' });
  return new Uint8Array(der.subarray(der.length - 32));
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
