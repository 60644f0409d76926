// Named errors of the disk store. The network layer maps their `code` onto the wire and back.
import { P2PBackupError } from '../common/errors.ts';
import type { RefusalReason, SlotRefusalReason } from './constants.ts';

/** Base class of every store error. */
export class StoreError extends P2PBackupError {}

/** An argument is malformed: bad storage index, share number, size, range or owner. */
export class InvalidArgumentError extends StoreError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('ERR_INVALID_ARGUMENT', message, details);
  }
}

/** parseSize could not read a size string. */
export class InvalidSizeError extends StoreError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('ERR_INVALID_SIZE', message, details);
  }
}

/** The store will not take this share (see REFUSAL_REASONS). */
export class ShareRefusedError extends StoreError {
  readonly reason: RefusalReason;
  constructor(reason: RefusalReason, message: string, details: Record<string, unknown> = {}) {
    super('ERR_SHARE_REFUSED', message, { ...details, reason });
    this.reason = reason;
  }
}

/** No such (si, shareNum) here. */
export class ShareNotFoundError extends StoreError {
  constructor(siHex: string, shareNum: number) {
    super('ERR_SHARE_NOT_FOUND', `share ${shareNum} of ${siHex} is not stored here`, { si: siHex, shareNum });
  }
}

/** Only the peer that uploaded a share may delete it or renew its lease. */
export class NotOwnerError extends StoreError {
  constructor(siHex: string, shareNum: number) {
    super('ERR_NOT_OWNER', `share ${shareNum} of ${siHex} belongs to another peer`, { si: siHex, shareNum });
  }
}

/** A byte range falls outside the share. */
export class OutOfRangeError extends StoreError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('ERR_OUT_OF_RANGE', message, details);
  }
}

/** commit() saw a different byte count than announced, or write() went past it. */
export class SizeMismatchError extends StoreError {
  constructor(expected: number, got: number) {
    super('ERR_SIZE_MISMATCH', `share size mismatch: announced ${expected} bytes, got ${got}`, { expected, got });
  }
}

/** The writer was already committed or aborted, or the store was closed. */
export class StoreStateError extends StoreError {
  constructor(message: string) {
    super('ERR_STORE_STATE', message);
  }
}

/** The store will not take this slot record (see SLOT_REFUSAL_REASONS); `stale` carries the stored seq. */
export class SlotRefusedError extends StoreError {
  readonly reason: SlotRefusalReason;
  constructor(reason: SlotRefusalReason, message: string, details: Record<string, unknown> = {}) {
    super('ERR_SLOT_REFUSED', message, { ...details, reason });
    this.reason = reason;
  }
}

/** No record for this slot here. */
export class SlotNotFoundError extends StoreError {
  constructor(siHex: string) {
    super('ERR_SLOT_NOT_FOUND', `no record for slot ${siHex} is stored here`, { si: siHex });
  }
}
