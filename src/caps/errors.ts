import { P2PBackupError } from '../common/errors.ts';

/** Codes: ERR_CAP_BAD_PREFIX, ERR_CAP_UNKNOWN_TYPE, ERR_CAP_UNKNOWN_VERSION, ERR_CAP_BAD_BASE32, ERR_CAP_BAD_CHECKSUM, ERR_CAP_BAD_LENGTH, ERR_CAP_BAD_FIELD, ERR_CAP_WRONG_KIND. */
export class InvalidCapError extends P2PBackupError {}

/** A mutable record failed to parse or verify. Codes: ERR_RECORD_MALFORMED, ERR_RECORD_BAD_SIGNATURE, ERR_RECORD_WRONG_KEY, ERR_RECORD_DECRYPT. */
export class InvalidRecordError extends P2PBackupError {}
