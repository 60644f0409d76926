// Erasure coding: Reed-Solomon over GF(2^8) (0x11D), parity byte-identical to Backblaze JavaReedSolomon /
// klauspost reedsolomon / reed-solomon-erasure; a wasm SIMD kernel, a zero-copy ShardSet path and a
// multi-core codec (worker_threads on one shared wasm memory). Format details: docs/FORMAT.md "Erasure code".
//   const codec = createCodec({ dataShards: 4, parityShards: 2 });
//   const parity = codec.encode(data); const all = codec.reconstruct([null, d1, d2, d3, parity[0], null]);
export { createCodec } from './codec.ts';
export type { Codec, CodecOptions, ReconstructOptions, ShardSet } from './codec.ts';
export { createParallelCodec } from './parallel.ts';
export type { ParallelCodec, ParallelCodecOptions } from './parallel.ts';
export type { KernelChoice, KernelVariant } from './kernel.ts';
export { resolveKernel } from './kernel.ts';
export {
  CodecError,
  InvalidParametersError,
  InvalidShardError,
  ShardSizeMismatchError,
  TooFewShardsError,
  KernelUnavailableError,
  CodecClosedError,
  WorkerFailedError
} from './errors.ts';
export { GF_POLYNOMIAL, MAX_TOTAL_SHARDS } from './constants.ts';
