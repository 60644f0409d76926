// Errors raised by the erasure codec. Every one has a stable `code` and the data a caller needs in `details`.
import { P2PBackupError } from '../common/index.ts';

/** Base class of every erasure-codec error. */
export class CodecError extends P2PBackupError {}

/** dataShards / parityShards / threads / shard length out of range. */
export class InvalidParametersError extends CodecError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('ERR_CODEC_PARAMS', message, details);
  }
}

/** A shard argument has the wrong type, or the shard list has the wrong count. */
export class InvalidShardError extends CodecError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('ERR_CODEC_INVALID_SHARD', message, details);
  }
}

/** Shards of one stripe do not all have the same length. */
export class ShardSizeMismatchError extends CodecError {
  constructor(message: string, details: { index: number; expected: number; found: number }) {
    super('ERR_CODEC_SHARD_SIZE', message, details);
  }
}

/** Fewer than dataShards shards are present, so nothing can be reconstructed. */
export class TooFewShardsError extends CodecError {
  constructor(needed: number, found: number) {
    super('ERR_CODEC_TOO_FEW_SHARDS', `need at least ${needed} shards to reconstruct, found ${found}`, { needed, found });
  }
}

/** No usable WebAssembly SIMD kernel on this runtime (or the requested variant is unsupported / not built). */
export class KernelUnavailableError extends CodecError {
  constructor(message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super('ERR_CODEC_KERNEL', message, details, options);
  }
}

/** The codec, shard set or parallel codec was used after close()/release(). */
export class CodecClosedError extends CodecError {
  constructor(what: string) {
    super('ERR_CODEC_CLOSED', `${what} was used after it was closed or released`, { what });
  }
}

/** A worker thread of the parallel codec failed or exited unexpectedly. */
export class WorkerFailedError extends CodecError {
  constructor(message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super('ERR_CODEC_WORKER', message, details, options);
  }
}
