// Cryptographic primitives for p2pbackup: XChaCha20-Poly1305 (HChaCha20 in JS + native ChaCha20-Poly1305),
// tagged SHA-256, blob key derivation, Ed25519, secure random.
// const sealed = xchachaSeal(key, nonce24, plaintext);
// const plain = xchachaOpen(key, nonce24, sealed); // throws DecryptError if altered
export * from './constants.ts';
export { DecryptError, CryptoInputError } from './errors.ts';
export { hchacha20 } from './hchacha20.ts';
export { xchachaSeal, xchachaOpen, deriveSubkey, sealStream, openWithSubkey, type XChaChaSubkey } from './xchacha20poly1305.ts';
export { taggedHash, taggedHasher, sha256 } from './hash.ts';
export { randomBytes, randomNonce } from './random.ts';
export { randomKey, blobKeys, ownerKey, type BlobKeys } from './kdf.ts';
export { ed25519PublicKey, ed25519Sign, ed25519Verify } from './sign.ts';
