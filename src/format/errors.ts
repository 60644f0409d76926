import { P2PBackupError } from '../common/errors.ts';

/** Which part of a share failed verification. */
export type ShareRegion = 'header' | 'block' | 'block-tree' | 'share-roots' | 'ueb' | 'footer' | 'size';

/** Fewer than k shares could supply verified blocks. details: { needed, found, storageIndex, segment? } */
export class NotEnoughSharesError extends P2PBackupError {
  constructor(details: { needed: number; found: number; storageIndex: string; segment?: number }) {
    super('ERR_NOT_ENOUGH_SHARES', `need ${details.needed} good shares, found ${details.found}`, details);
  }
}

/** A share's bytes failed verification. details: { storageIndex, share, segment?, region } */
export class CorruptShareError extends P2PBackupError {
  constructor(details: { storageIndex: string; share: number; segment?: number; region: ShareRegion; reason?: string }) {
    super('ERR_CORRUPT_SHARE', `share ${details.share} is corrupt (${details.region}${details.segment !== undefined ? `, segment ${details.segment}` : ''}${details.reason ? `: ${details.reason}` : ''})`, details);
  }
}

/** Bad encode/decode parameters (k, n, segment size, range). */
export class InvalidParamsError extends P2PBackupError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('ERR_INVALID_PARAMS', message, details);
  }
}

/** The input produced a different number of bytes than it declared (it changed while being read). */
export class InputChangedError extends P2PBackupError {
  constructor(details: { expected: number; got: number }) {
    super('ERR_INPUT_CHANGED', `input declared ${details.expected} bytes but produced ${details.got}; was it modified during backup?`, details);
  }
}

/** Verified blocks decoded but failed to decrypt: the shares were consistent with the cap but the uploader wrote bad data (or the codec is broken). */
export class FileIntegrityError extends P2PBackupError {
  constructor(details: { storageIndex: string; segment: number }) {
    super('ERR_FILE_INTEGRITY', `segment ${details.segment} failed authentication after share verification`, details);
  }
}

/** A rebuilt share did not hash to the root the file commits to (should not happen with verified inputs). */
export class RebuildError extends P2PBackupError {
  constructor(details: { storageIndex: string; share: number }) {
    super('ERR_REBUILD', `rebuilt share ${details.share} does not match its committed root`, details);
  }
}
