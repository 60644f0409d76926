// Named errors of the peer layer: its home, configuration, recovery and local swarms. Generic ones
// (usage, bad request, not found, unsupported, unreachable) are shared from src/common/errors.ts.
import { P2PBackupError } from '../common/errors.ts';

/** config.json (or a file of the home it names) is invalid; the message says which key and why. */
export class ConfigError extends P2PBackupError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('ERR_CONFIG', message, details);
  }
}

/** The home already holds a configuration: init and recover never replace an identity. */
export class AlreadyInitializedError extends P2PBackupError {
  constructor(home: string, message: string) {
    super('ERR_ALREADY_INITIALIZED', message, { home });
  }
}

/** The recovery record fetched from the swarm is not one this version can use. */
export class RecoveryInvalidError extends P2PBackupError {
  constructor(what: string) {
    super('ERR_RECOVERY_INVALID', `the recovery record is invalid: ${what}`, { what });
  }
}

/** No peer returned the recovery record in time. */
export class RecoveryNotFoundError extends P2PBackupError {
  constructor(seconds: number, last: unknown) {
    super(
      'ERR_RECOVERY_NOT_FOUND',
      `no peer returned the recovery record within ${seconds} s${last ? ` (last error: ${(last as Error).message})` : ''}; check --bootstrap and, for a private swarm, --swarm-key-file`,
      { seconds }
    );
  }
}

/** A daemon spawned for a local swarm exited or did not get ready in time. */
export class DaemonStartError extends P2PBackupError {
  constructor(home: string, message: string) {
    super('ERR_DAEMON_START', message, { home });
  }
}

/** A path of a snapshot names a directory or link where a regular file is needed. */
export class NotAFileError extends P2PBackupError {
  constructor(path: string) {
    super('ERR_NOT_A_FILE', `not a regular file in the snapshot: ${path}`, { path });
  }
}

/** The demo's restored folder differs from its source. */
export class DemoError extends P2PBackupError {
  constructor(message: string) {
    super('ERR_DEMO', message);
  }
}
