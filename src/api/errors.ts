// The API's one error table: error code -> HTTP status, typed against the list of codes (a code without a
// status, or a status for a code that no longer exists, does not compile). Bodies are always
// { code, message }. Also the named errors the API itself raises.
import { P2PBackupError } from '../common/errors.ts';
import type { ErrorCode } from '../common/codes.ts';

/** The request carries no token, or the wrong one. */
export class UnauthorizedError extends P2PBackupError {
  constructor() {
    super('ERR_UNAUTHORIZED', 'missing or wrong API token: send "Authorization: Bearer <HOME/api-token>"');
  }
}

/** A route that writes, on a read-only light node. */
export class ReadOnlyError extends P2PBackupError {
  constructor() {
    super('ERR_READ_ONLY', 'this is a read-only light node (daemon --read-only): it stores nothing and backs up nothing; browse and download by read cap');
  }
}

/** A path outside the directories this API may touch (config api.allowedRoots). */
export class PathNotAllowedError extends P2PBackupError {
  constructor(what: string, path: string, roots: string[]) {
    super(
      'ERR_PATH_NOT_ALLOWED',
      `${what} ${path} is outside the directories this API may touch (${roots.join(', ')}); to allow it, add a parent folder to "api": { "allowedRoots": [...] } in the daemon's config.json and restart it`,
      { path, allowedRoots: roots }
    );
  }
}

/** The API answered something a client of it cannot use (no result, not JSON). */
export class ApiError extends P2PBackupError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('ERR_API', message, details);
  }
}

/** What each code answers over HTTP. 499 (client closed request) for an operation its caller cancelled. */
export const HTTP_STATUS = {
  ERR_USAGE: 400,
  ERR_BAD_REQUEST: 400,
  ERR_NOT_FOUND: 404,
  ERR_UNSUPPORTED: 501,
  ERR_ABORTED: 499,
  ERR_INTERNAL: 500,

  ERR_CONFIG: 400,
  ERR_ALREADY_INITIALIZED: 409,
  ERR_NO_DAEMON: 500,
  ERR_DAEMON_START: 500,
  ERR_API: 500,
  ERR_DEMO: 500,
  ERR_RECOVERY_INVALID: 500,
  ERR_RECOVERY_NOT_FOUND: 404,
  ERR_SYNC: 500,

  ERR_UNAUTHORIZED: 401,
  ERR_READ_ONLY: 403,
  ERR_PATH_NOT_ALLOWED: 403,
  ERR_NOT_A_FILE: 400,

  ERR_CAP_BAD_PREFIX: 400,
  ERR_CAP_UNKNOWN_TYPE: 400,
  ERR_CAP_UNKNOWN_VERSION: 400,
  ERR_CAP_BAD_BASE32: 400,
  ERR_CAP_BAD_CHECKSUM: 400,
  ERR_CAP_BAD_LENGTH: 400,
  ERR_CAP_BAD_FIELD: 400,
  ERR_CAP_WRONG_KIND: 400,
  ERR_RECORD_MALFORMED: 500,
  ERR_RECORD_BAD_SIGNATURE: 500,
  ERR_RECORD_WRONG_KEY: 500,
  ERR_RECORD_DECRYPT: 500,
  ERR_KEYSTORE_BAD_NAME: 500,
  ERR_KEYSTORE_OPEN: 500,

  ERR_DECRYPT: 500,
  ERR_CRYPTO_INPUT: 500,

  ERR_CODEC_PARAMS: 500,
  ERR_CODEC_INVALID_SHARD: 500,
  ERR_CODEC_SHARD_SIZE: 500,
  ERR_CODEC_TOO_FEW_SHARDS: 500,
  ERR_CODEC_KERNEL: 500,
  ERR_CODEC_CLOSED: 500,
  ERR_CODEC_WORKER: 500,

  // Too few good shares: the swarm cannot serve it now (503); bad bytes from peers: a bad upstream (502).
  ERR_NOT_ENOUGH_SHARES: 503,
  ERR_CORRUPT_SHARE: 502,
  ERR_CORRUPT_DATA: 502,
  ERR_INVALID_PARAMS: 400,
  ERR_REBUILD: 500,
  ERR_TOO_LARGE: 500,

  ERR_INVALID_ARGUMENT: 400,
  ERR_INVALID_SIZE: 400,
  ERR_SHARE_REFUSED: 500,
  ERR_SHARE_NOT_FOUND: 500,
  ERR_NOT_OWNER: 500,
  ERR_OUT_OF_RANGE: 500,
  ERR_SIZE_MISMATCH: 500,
  ERR_STORE_STATE: 500,
  ERR_SLOT_REFUSED: 500,
  ERR_SLOT_NOT_FOUND: 500,

  ERR_PROTOCOL: 500,
  ERR_FRAME_TOO_LARGE: 500,
  ERR_REMOTE_REFUSED: 500,
  ERR_REMOTE: 500,
  ERR_PEER_UNREACHABLE: 502,
  ERR_STREAM_TIMEOUT: 500,
  ERR_INVALID_SWARM_KEY: 400,
  ERR_INVALID_PEER_KEY: 400,
  ERR_RELAY_BUDGET: 503,

  // Not enough peers took the shares or the record: the swarm cannot serve it now.
  ERR_NOT_HAPPY: 503,
  ERR_NOT_ENOUGH_REPLICAS: 503,
  ERR_STALE_SEQ: 500,
  ERR_RECORD_TOO_LARGE: 500,
  ERR_NO_PEERS: 503,

  ERR_BACKUP_BAD_OBJECT: 500,
  ERR_BACKUP_PATH_NOT_FOUND: 404,
  ERR_BACKUP_READ: 500,
  ERR_BACKUP_UNSUPPORTED: 500,
  ERR_BACKUP_NOT_DIR: 500,
  ERR_RESTORE_CONFLICT: 409,
  ERR_RESTORE_SIZE: 500,
  ERR_HEAD_CONFLICT: 409,
  ERR_TREE_TOO_LARGE: 422,
  ERR_CAP_FORMAT_V1: 400,
  ERR_TOO_SLOW: 502,
  ERR_PEER_BUSY: 503,
  ERR_SLOW_PEER: 502,
  ERR_SLOW_HOLDER: 502,
  ERR_COMPRESSION_METHOD: 502,
  ERR_DECOMPRESS: 502,
  ERR_DECOMPRESSED_LENGTH: 502,
  ERR_BLOB_INTEGRITY: 502,
  ERR_BLOB_DECOMPRESS: 502,
  ERR_BLOB_NOT_FOUND: 503,
  ERR_REPO_BAD_DATA: 502,
  ERR_REPO_LOCKED: 409,
  ERR_REPO_CONFLICT: 409,
  ERR_FILE_CHANGED: 409,
  ERR_RECORD_CONFLICT: 409,
  ERR_PRUNE_MISSING_BLOB: 409
} as const satisfies Record<ErrorCode, number>;

export function httpStatusOf(err: unknown): number {
  if (err instanceof P2PBackupError) return HTTP_STATUS[err.code] ?? 500;
  const status = (err as any)?.statusCode;
  return typeof status === 'number' && status >= 400 && status < 600 ? status : 500;
}

export function errorBody(err: unknown): { code: string; message: string; details?: Record<string, unknown> } {
  if (err instanceof P2PBackupError) return { code: err.code, message: err.message, details: err.details };
  const e = err as any;
  // Schema validation (body, query, params) is a bad request like any other.
  if (e?.validation) return { code: 'ERR_BAD_REQUEST', message: String(e.message) };
  if (typeof e?.statusCode === 'number' && e.statusCode < 500) return { code: e.code ?? 'ERR_BAD_REQUEST', message: String(e.message) };
  return { code: 'ERR_INTERNAL', message: String(e?.message ?? err) };
}
