// p2pbackup's public library API: the codec at the top level, the format layers as namespaces.
export { P2PBackupError } from './common/index.ts';
export * from './erasure/index.ts';
export * as crypto from './crypto/index.ts';
export * as format from './format/index.ts';
export * as caps from './caps/index.ts';
