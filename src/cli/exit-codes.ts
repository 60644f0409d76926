// The CLI's one table: error code -> process exit code. Documented in README ("Exit codes").
import { P2PBackupError } from '../common/errors.ts';

export const EXIT = {
  OK: 0,
  FAILURE: 1, // unexpected error
  USAGE: 2, // bad arguments or configuration
  NO_DAEMON: 3, // no daemon runs for this home
  BAD_CAP: 4, // the capability string is malformed or fails its checksum
  NOT_ENOUGH_SHARES: 5, // too few peers hold (good) shares / upload not happy
  CORRUPT: 6, // data failed verification and could not be recovered
  INTERRUPTED: 130 // Ctrl-C
} as const;

const BY_CODE: Record<string, number> = {
  ERR_USAGE: EXIT.USAGE,
  ERR_CONFIG: EXIT.USAGE,
  ERR_SIZE: EXIT.USAGE,
  ERR_BAD_REQUEST: EXIT.USAGE,
  ERR_ALREADY_INITIALIZED: EXIT.USAGE,
  ERR_NO_DAEMON: EXIT.NO_DAEMON,
  ERR_NOT_ENOUGH_SHARES: EXIT.NOT_ENOUGH_SHARES,
  ERR_NOT_HAPPY: EXIT.NOT_ENOUGH_SHARES,
  ERR_NO_PEERS: EXIT.NOT_ENOUGH_SHARES,
  ERR_UNREACHABLE: EXIT.NOT_ENOUGH_SHARES,
  ERR_CORRUPT_SHARE: EXIT.CORRUPT,
  ERR_ABORTED: EXIT.INTERRUPTED
};

export function exitCodeOf(err: unknown): number {
  if (!(err instanceof P2PBackupError)) return EXIT.FAILURE;
  if (err.code.startsWith('ERR_CAP_')) return EXIT.BAD_CAP;
  return BY_CODE[err.code] ?? (err.code.startsWith('ERR_INVALID') ? EXIT.USAGE : EXIT.FAILURE);
}
