// Shared building blocks every layer may use: the error base class and the list of error codes, the
// errors every layer shares, a bounded worker pool, a counting semaphore, fault points for crash tests,
// bounded waits (boundedWait: a deadline that goes away with the wait).
// import { P2PBackupError } from '../common/index.ts';
// throw new P2PBackupError('ERR_USAGE', 'what went wrong and what to do');
export { P2PBackupError, UsageError, BadRequestError, NotFoundError, UnsupportedError, PeerUnreachableError, RemoteRefusedError } from './errors.ts';
export { ERROR_CODES, isErrorCode, type ErrorCode } from './codes.ts';
export { forEachLimit, mapLimit } from './pool.ts';
export { BufferPool } from './buffer-pool.ts';
export { limiter } from './limit.ts';
export { faultPoint } from './fault.ts';
export { AllOf, boundedBy, boundedWait, untilAborted, type BoundedWait } from './wait.ts';
