// One base class for every error p2pbackup raises on purpose.
// `code` is stable (tests, the CLI's exit-code table and the API's status table key on it);
// `details` carries the data a caller needs to act (what was found, what was needed).

export class P2PBackupError extends Error {
  readonly code: string;
  readonly details: Record<string, unknown>;
  constructor(code: string, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.details = details;
  }
}
