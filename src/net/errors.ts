// Named errors of the network layer. Remote store errors come back as these (or the store's own classes).
// A refusal and an unreachable peer are errors of every share server, so they live in src/common/.
import { P2PBackupError } from '../common/errors.ts';
import type { ErrorCode } from '../common/codes.ts';

export { PeerUnreachableError, RemoteRefusedError } from '../common/errors.ts';

export class NetError extends P2PBackupError {}

/** The peer sent (or we would send) something that breaks the storage protocol. */
export class ProtocolError extends NetError {
  constructor(message: string, details: Record<string, unknown> = {}, code: ErrorCode = 'ERR_PROTOCOL') {
    super(code, message, details);
  }
}

/** A frame's length prefix exceeds MAX_FRAME_BODY. */
export class FrameTooLargeError extends ProtocolError {
  constructor(length: number, max: number) {
    super(`frame of ${length} bytes exceeds the ${max}-byte limit`, { length, max }, 'ERR_FRAME_TOO_LARGE');
  }
}

/** The remote failed for a reason of its own (disk error, ...); `details.remoteCode` says which. */
export class RemoteError extends NetError {
  constructor(remoteCode: string, message: string, details: Record<string, unknown> = {}) {
    super('ERR_REMOTE', message, { ...details, remoteCode });
  }
}

/** No frame arrived within the idle timeout. */
export class StreamTimeoutError extends NetError {
  constructor(ms: number) {
    super('ERR_STREAM_TIMEOUT', `no data for ${ms} ms on a storage stream`, { ms });
  }
}

/** A request, a share upload or an answer came in slower than its deadline or minimum rate allows. */
export class TooSlowError extends NetError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('ERR_TOO_SLOW', message, details);
  }
}

/** The peer has as many streams open with this server as it may (MAX_STREAMS_PER_PEER). */
export class PeerBusyError extends NetError {
  constructor(limit: number) {
    super('ERR_PEER_BUSY', `too many storage streams open from you at once (limit ${limit})`, { limit });
  }
}

/** A swarm key file is not in the swarm.key format. */
export class InvalidSwarmKeyError extends NetError {
  constructor(message: string) {
    super('ERR_INVALID_SWARM_KEY', message);
  }
}

/** The peer key file is unreadable or not an Ed25519 libp2p private key. */
export class InvalidPeerKeyError extends NetError {
  constructor(message: string, cause?: unknown) {
    super('ERR_INVALID_PEER_KEY', message, {}, { cause });
  }
}

/** The operation was cancelled through its AbortSignal. */
export class AbortedError extends NetError {
  constructor(message = 'operation aborted') {
    super('ERR_ABORTED', message);
  }
}
