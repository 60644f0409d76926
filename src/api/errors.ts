// The API's one error table: error code -> HTTP status. Bodies are always { code, message }.
import { P2PBackupError } from '../common/errors.ts';

const STATUS: Record<string, number> = {
  ERR_UNAUTHORIZED: 401,
  ERR_NOT_FOUND: 404,
  ERR_BAD_REQUEST: 400,
  ERR_CONFIG: 400,
  ERR_SIZE: 400,
  ERR_NOT_ENOUGH_SHARES: 503,
  ERR_NOT_HAPPY: 503,
  ERR_NO_PEERS: 503,
  ERR_CORRUPT_SHARE: 502,
  ERR_ABORTED: 499,
  ERR_UNSUPPORTED: 501,
  ERR_UNREACHABLE: 502,
  ERR_HEAD_CONFLICT: 409,
  ERR_ALREADY_INITIALIZED: 409,
  ERR_USAGE: 400,
  ERR_RECOVERY_NOT_FOUND: 404,
  ERR_BACKUP_PATH_NOT_FOUND: 404,
  ERR_NOT_A_FILE: 400,
  ERR_PATH_NOT_ALLOWED: 403,
  ERR_READ_ONLY: 403
};

export function httpStatusOf(err: unknown): number {
  if (err instanceof P2PBackupError) {
    if (err.code.startsWith('ERR_CAP_')) return 400;
    return STATUS[err.code] ?? (err.code.startsWith('ERR_INVALID') ? 400 : 500);
  }
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
