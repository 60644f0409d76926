// One base class for every error p2pbackup raises on purpose, and the few named errors every layer shares.
// `code` is one of ERROR_CODES (codes.ts; tests, the CLI's exit-code table and the API's status table key
// on it); `details` carries the data a caller needs to act (what was found, what was needed).
import type { ErrorCode } from './codes.ts';

export class P2PBackupError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;
  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.details = details;
  }
}

/** Bad command-line arguments or options (the message names the problem). */
export class UsageError extends P2PBackupError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('ERR_USAGE', message, details);
  }
}

/** A malformed request to the API or the peer service (a bad path, query or body). */
export class BadRequestError extends P2PBackupError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('ERR_BAD_REQUEST', message, details);
  }
}

/** No such folder, snapshot or route. */
export class NotFoundError extends P2PBackupError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('ERR_NOT_FOUND', message, details);
  }
}

/** This peer (a light node, a peer without folders, a remote peer of an older version) does not offer that. */
export class UnsupportedError extends P2PBackupError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('ERR_UNSUPPORTED', message, details);
  }
}

// What any share server (a libp2p peer, or a store in a test grid) raises, and the client reads: the
// client reaches peers only through its ShareServer interface, so these live here, not in src/net/.

/** Could not reach the peer (dial failed or timed out, a ping went unanswered). */
export class PeerUnreachableError extends P2PBackupError {
  constructor(peer: string, cause?: unknown) {
    super('ERR_PEER_UNREACHABLE', `peer ${peer} is unreachable: ${(cause as Error)?.message ?? 'unknown'}`, { peer }, { cause });
  }
}

/** The remote peer refused: quota, exists, conflict, busy, policy, invalid, or not-owner. */
export class RemoteRefusedError extends P2PBackupError {
  readonly reason: string;
  constructor(reason: string, message: string, details: Record<string, unknown> = {}) {
    super('ERR_REMOTE_REFUSED', message, { ...details, reason });
    this.reason = reason;
  }
}
