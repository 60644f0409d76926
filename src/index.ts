// p2pbackup's public library API.
export { P2PBackupError } from './common/index.ts';
