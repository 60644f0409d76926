// Every error code p2pbackup raises, as one list: `P2PBackupError` takes only these, and the two tables
// that turn errors into outcomes (src/api/errors.ts: HTTP status; src/cli/exit-codes.ts: exit code) are
// typed `Record<ErrorCode, …>`, so a code added here without a row there, or a row left for a code
// removed here, does not compile. Codes are stable: tests, scripts and the web UI key on them.
export const ERROR_CODES = [
  // Anywhere: the caller asked for something wrong, or for something this peer cannot do.
  'ERR_USAGE', // bad command-line arguments or options
  'ERR_BAD_REQUEST', // a malformed API request
  'ERR_NOT_FOUND', // no such folder, snapshot or route
  'ERR_UNSUPPORTED', // this peer (or remote peer) does not offer that operation
  'ERR_ABORTED', // cancelled through an AbortSignal
  'ERR_INTERNAL', // an unexpected error, as reported by the API
  // The peer's home and processes (src/peer/, src/daemon/, src/cli/).
  'ERR_CONFIG',
  'ERR_ALREADY_INITIALIZED',
  'ERR_NO_DAEMON',
  'ERR_DAEMON_START',
  'ERR_API',
  'ERR_DEMO',
  'ERR_RECOVERY_INVALID',
  'ERR_RECOVERY_NOT_FOUND',
  'ERR_SYNC',
  // The local API (src/api/).
  'ERR_UNAUTHORIZED',
  'ERR_READ_ONLY',
  'ERR_PATH_NOT_ALLOWED',
  'ERR_NOT_A_FILE',
  // Caps and mutable records (src/caps/).
  'ERR_CAP_BAD_PREFIX',
  'ERR_CAP_UNKNOWN_TYPE',
  'ERR_CAP_UNKNOWN_VERSION',
  'ERR_CAP_BAD_BASE32',
  'ERR_CAP_BAD_CHECKSUM',
  'ERR_CAP_BAD_LENGTH',
  'ERR_CAP_BAD_FIELD',
  'ERR_CAP_WRONG_KIND',
  'ERR_RECORD_MALFORMED',
  'ERR_RECORD_BAD_SIGNATURE',
  'ERR_RECORD_WRONG_KEY',
  'ERR_RECORD_DECRYPT',
  'ERR_KEYSTORE_BAD_NAME',
  'ERR_KEYSTORE_OPEN',
  // Cryptography (src/crypto/).
  'ERR_DECRYPT',
  'ERR_CRYPTO_INPUT',
  // The erasure codec (src/erasure/).
  'ERR_CODEC_PARAMS',
  'ERR_CODEC_INVALID_SHARD',
  'ERR_CODEC_SHARD_SIZE',
  'ERR_CODEC_TOO_FEW_SHARDS',
  'ERR_CODEC_KERNEL',
  'ERR_CODEC_CLOSED',
  'ERR_CODEC_WORKER',
  // The share format (src/format/).
  'ERR_NOT_ENOUGH_SHARES',
  'ERR_CORRUPT_SHARE',
  'ERR_CORRUPT_DATA',
  'ERR_INVALID_PARAMS',
  'ERR_REBUILD',
  'ERR_TOO_LARGE',
  // The share store (src/store/).
  'ERR_INVALID_ARGUMENT',
  'ERR_INVALID_SIZE',
  'ERR_SHARE_REFUSED',
  'ERR_SHARE_NOT_FOUND',
  'ERR_NOT_OWNER',
  'ERR_OUT_OF_RANGE',
  'ERR_SIZE_MISMATCH',
  'ERR_STORE_STATE',
  'ERR_SLOT_REFUSED',
  'ERR_SLOT_NOT_FOUND',
  // The network (src/net/) and any remote peer.
  'ERR_PROTOCOL',
  'ERR_FRAME_TOO_LARGE',
  'ERR_TOO_SLOW',
  'ERR_PEER_BUSY',
  'ERR_REMOTE_REFUSED',
  'ERR_REMOTE',
  'ERR_PEER_UNREACHABLE',
  'ERR_STREAM_TIMEOUT',
  'ERR_INVALID_SWARM_KEY',
  'ERR_INVALID_PEER_KEY',
  'ERR_RELAY_BUDGET',
  // The client (src/client/).
  'ERR_NOT_HAPPY',
  'ERR_SLOW_PEER',
  'ERR_SLOW_HOLDER',
  'ERR_NOT_ENOUGH_REPLICAS',
  'ERR_STALE_SEQ',
  'ERR_RECORD_TOO_LARGE',
  'ERR_NO_PEERS',
  // Backup and restore (src/backup/).
  'ERR_BACKUP_BAD_OBJECT',
  'ERR_BACKUP_PATH_NOT_FOUND',
  'ERR_BACKUP_READ',
  'ERR_BACKUP_UNSUPPORTED',
  'ERR_BACKUP_NOT_DIR',
  'ERR_RESTORE_CONFLICT',
  'ERR_RESTORE_SIZE',
  'ERR_HEAD_CONFLICT',
  'ERR_TREE_TOO_LARGE',
  // Format 2: caps of format 1, compression, the owner's repository (src/repo/).
  'ERR_CAP_FORMAT_V1',
  'ERR_COMPRESSION_METHOD',
  'ERR_DECOMPRESS',
  'ERR_DECOMPRESSED_LENGTH',
  'ERR_BLOB_INTEGRITY',
  'ERR_BLOB_DECOMPRESS',
  'ERR_BLOB_NOT_FOUND',
  'ERR_REPO_BAD_DATA',
  'ERR_REPO_LOCKED',
  'ERR_REPO_CONFLICT',
  'ERR_FILE_CHANGED',
  'ERR_RECORD_CONFLICT',
  'ERR_PRUNE_MISSING_BLOB'
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

const KNOWN: ReadonlySet<string> = new Set(ERROR_CODES);

/** A code read from untrusted input (an API body, an NDJSON line) names one we know. */
export function isErrorCode(x: unknown): x is ErrorCode {
  return typeof x === 'string' && KNOWN.has(x);
}
