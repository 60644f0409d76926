import { P2PBackupError } from '../common/errors.ts';

/** Which part of a share failed verification. */
export type ShareRegion = 'header' | 'block' | 'block-tree' | 'share-roots' | 'ueb' | 'footer' | 'size';

/** Fewer than k shares could supply verified blocks. details: { needed, found, storageIndex, segment? } */
export class NotEnoughSharesError extends P2PBackupError {
  constructor(details: { needed: number; found: number; storageIndex: string; segment?: number }) {
    super('ERR_NOT_ENOUGH_SHARES', `need ${details.needed} good shares, found ${details.found}`, details);
  }
}

/**
 * Enough shares were there, but too few of them verified: the data is damaged beyond what the other shares can
 * make up for (not merely unreachable). details: { needed, good, corrupt, storageIndex, segment? }
 */
export class CorruptDataError extends P2PBackupError {
  constructor(details: { needed: number; good: number; corrupt: number; storageIndex: string; segment?: number }) {
    super('ERR_CORRUPT_DATA', `need ${details.needed} good shares, found ${details.good}; ${details.corrupt} failed verification`, details);
  }
}

/** A share's bytes failed verification. details: { storageIndex, share, segment?, region } */
export class CorruptShareError extends P2PBackupError {
  constructor(details: { storageIndex: string; share: number; segment?: number; region: ShareRegion; reason?: string }) {
    super(
      'ERR_CORRUPT_SHARE',
      `share ${details.share} is corrupt (${details.region}${details.segment !== undefined ? `, segment ${details.segment}` : ''}${details.reason ? `: ${details.reason}` : ''})`,
      details
    );
  }
}

/** Bad encode/decode parameters (k, n, segment size, range). */
export class InvalidParamsError extends P2PBackupError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('ERR_INVALID_PARAMS', message, details);
  }
}

/** A rebuilt share did not hash to the root the file commits to (should not happen with verified inputs). */
export class RebuildError extends P2PBackupError {
  constructor(details: { storageIndex: string; share: number }) {
    super('ERR_REBUILD', `rebuilt share ${details.share} does not match its committed root`, details);
  }
}

/** A stored chunk names a compression method this version does not know (format v2). details: { method } */
export class UnknownCompressionError extends P2PBackupError {
  constructor(details: { method: unknown }) {
    super('ERR_COMPRESSION_METHOD', `unknown compression method ${String(details.method)}`, details);
  }
}

/** A chunk's bytes are not a valid stream of their compression method. details: { method, reason } */
export class DecompressError extends P2PBackupError {
  constructor(details: { method: number; reason: string }, options?: { cause?: unknown }) {
    super('ERR_DECOMPRESS', `chunk failed to decompress (method ${details.method}): ${details.reason}`, details, options);
  }
}

/** A chunk decompressed to another length than its entry declares. details: { method, expected, got } (got null: longer than expected, not decoded further) */
export class DecompressedLengthError extends P2PBackupError {
  constructor(details: { method: number; expected: number; got: number | null }) {
    super('ERR_DECOMPRESSED_LENGTH', `chunk decompressed to ${details.got === null ? 'more than' : details.got} bytes, expected ${details.expected}`, details);
  }
}
