// p2pbackup's public library API.
export { P2PBackupError } from './common/index.ts';
export {
  createCodec,
  createParallelCodec,
  resolveKernel,
  CodecError,
  InvalidParametersError,
  InvalidShardError,
  ShardSizeMismatchError,
  TooFewShardsError,
  KernelUnavailableError,
  CodecClosedError,
  WorkerFailedError,
  GF_POLYNOMIAL,
  MAX_TOTAL_SHARDS,
} from './erasure/index.ts';
export type {
  Codec,
  CodecOptions,
  ReconstructOptions,
  ShardSet,
  ParallelCodec,
  ParallelCodecOptions,
  KernelChoice,
  KernelVariant,
} from './erasure/index.ts';
export * as crypto from './crypto/index.ts';
export * as format from './format/index.ts';
export * as caps from './caps/index.ts';
