// p2pbackup's public library API.
export { P2PBackupError } from './common/index.ts';
export * as crypto from './crypto/index.ts';
export * as format from './format/index.ts';
export * as caps from './caps/index.ts';
