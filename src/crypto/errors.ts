import { P2PBackupError } from '../common/errors.ts';

/** An AEAD open failed: wrong key, wrong nonce, or the ciphertext/tag was altered. */
export class DecryptError extends P2PBackupError {
  constructor(message = 'authentication failed: ciphertext or key is wrong', details: Record<string, unknown> = {}) {
    super('ERR_DECRYPT', message, details);
  }
}

/** A key, nonce or other input had the wrong size or shape. */
export class CryptoInputError extends P2PBackupError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('ERR_CRYPTO_INPUT', message, details);
  }
}
