// Key derivation from the owner's secret (format 2, docs/FORMAT.md §Blobs).
// A blob's id and key both come from one hash of its plaintext under the owner's secret: equal content of one
// owner gives the same id (deduplication through the owner's index) and the same key, and the id reveals
// nothing to whoever lacks the secret. The key is the blob's own: a cap to one blob opens nothing else.
import { HASH_BYTES, KEY_BYTES, TAGS } from './constants.ts';
import { CryptoInputError } from './errors.ts';
import { taggedHash } from './hash.ts';
import { randomBytes } from './random.ts';

export interface BlobKeys {
  id: Uint8Array;
  key: Uint8Array;
}

/**
 * id = H(blobId, secret, ph), key = H(blobKey, secret, ph) with ph = H(blobPlaintext, kind, plaintext): one pass
 * over the plaintext; the caller hashes, compresses and seals the same buffer, so the key always belongs to the
 * bytes sealed with it.
 */
export function blobKeys(secret: Uint8Array, kind: number, plaintext: Uint8Array): BlobKeys {
  if (secret.length !== HASH_BYTES) throw new CryptoInputError(`owner secret must be ${HASH_BYTES} bytes`, { length: secret.length });
  const ph = taggedHash(TAGS.blobPlaintext, Uint8Array.of(kind), plaintext);
  return { id: taggedHash(TAGS.blobId, secret, ph), key: taggedHash(TAGS.blobKey, secret, ph) };
}

/** A secret derived from the owner's secret for one purpose ("repo-slot", "chunker"): never the secret itself. */
export function ownerKey(secret: Uint8Array, purpose: string): Uint8Array {
  if (secret.length !== HASH_BYTES) throw new CryptoInputError(`owner secret must be ${HASH_BYTES} bytes`, { length: secret.length });
  return taggedHash(TAGS.ownerKey, secret, new TextEncoder().encode(purpose));
}

export function randomKey(): Uint8Array {
  return randomBytes(KEY_BYTES);
}
