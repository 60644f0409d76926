// References between a folder's objects (format 2). Inside a repository, a tree entry or a snapshot names a blob
// by its compact reference: base64url(kind byte || id 32 || key 32), 87 characters; the repository is implicit
// (the one the naming object lives in). Outside it (the API, the CLI, a cap handed to someone) the same blob is a
// `p2pb:blob:` cap that also carries the repository's read cap. Tiny file contents live inline (`p2pb:lit:`).
import { BLOB_KIND_CODES, formatCap, LITERAL_MAX_BYTES, parseCap, type BlobKind, type MutableReadCap } from '../caps/index.ts';
import { InvalidObjectError } from './errors.ts';

const KIND_OF = new Map(Object.entries(BLOB_KIND_CODES).map(([k, v]) => [v as number, k as BlobKind]));
const B64URL = /^[A-Za-z0-9_-]+$/;

export interface Ref {
  kind: BlobKind;
  id: Uint8Array;
  key: Uint8Array;
}
/** What a tree entry or a cap names: a blob of some repository, or bytes held inline. */
export type Content = (Ref & { repo: MutableReadCap }) | { kind: 'lit'; data: Uint8Array };

export function encodeRef(r: Ref): string {
  const b = new Uint8Array(65);
  b[0] = BLOB_KIND_CODES[r.kind];
  b.set(r.id, 1);
  b.set(r.key, 33);
  return Buffer.from(b).toString('base64url');
}

const B64URL_VALUE = new Map([...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'].map((c, i) => [c.charCodeAt(0), i]));

/**
 * Refuse anything but a well-formed compact reference of the allowed kinds, decoding nothing but its kind byte
 * (a tree's entries are checked this way when it is encoded, one per file of the folder).
 */
export function checkRef(text: unknown, allowed: readonly BlobKind[]): asserts text is string {
  if (typeof text !== 'string' || text.length !== 87 || !B64URL.test(text)) throw new InvalidObjectError('malformed blob reference');
  // 87 base64url characters are 65 bytes; the first byte is the first character's 6 bits and the second's top 2.
  const first = (B64URL_VALUE.get(text.charCodeAt(0))! << 2) | (B64URL_VALUE.get(text.charCodeAt(1))! >> 4);
  const kind = KIND_OF.get(first);
  if (!kind || !allowed.includes(kind)) throw new InvalidObjectError(`blob reference of kind ${kind ?? first} where ${allowed.join(' or ')} is expected`);
}

/** Decode a compact reference, refusing anything but a well-formed one of the allowed kinds. */
export function decodeRef(text: unknown, allowed: readonly BlobKind[]): Ref {
  checkRef(text, allowed);
  return decodeCheckedRef(text);
}

/**
 * Decode a reference that checkRef already accepted (a decoded tree's entries, checked at decode): id and key are
 * views of one 65-byte buffer of their own (a restore decodes each file's reference twice).
 */
export function decodeCheckedRef(text: string): Ref {
  const b = new Uint8Array(65);
  Buffer.from(b.buffer).write(text, 'base64url');
  return { kind: KIND_OF.get(b[0])!, id: b.subarray(1, 33), key: b.subarray(33, 65) };
}

/** Whether `text` is a well-formed compact reference of the allowed kinds. */
export function isRef(text: unknown, allowed: readonly BlobKind[]): text is string {
  try {
    checkRef(text, allowed);
    return true;
  } catch {
    return false;
  }
}

export function encodeLit(data: Uint8Array): string {
  return Buffer.from(data).toString('base64url');
}

export function decodeLit(text: unknown): Uint8Array {
  if (typeof text !== 'string' || (text.length > 0 && !B64URL.test(text)) || text.length > 76) throw new InvalidObjectError('malformed inline content');
  const b = Buffer.from(text, 'base64url');
  if (b.length > LITERAL_MAX_BYTES || Buffer.from(b).toString('base64url') !== text) throw new InvalidObjectError('malformed inline content');
  return new Uint8Array(b);
}

/** The cap text of a blob of `repo`. */
export function capOf(repo: MutableReadCap, r: Ref): string {
  return formatCap({ type: 'blob', kind: r.kind, id: r.id, key: r.key, repo });
}

/** What a cap text names, if it names content (a blob cap or a literal cap); otherwise InvalidObjectError. */
export function contentOf(cap: string, allowed: readonly BlobKind[]): Content {
  const c = parseCap(cap);
  if (c.type === 'lit') return { kind: 'lit', data: c.data };
  if (c.type !== 'blob') throw new InvalidObjectError(`a ${c.type} cap does not name content here`, { type: c.type });
  if (!allowed.includes(c.kind)) throw new InvalidObjectError(`a ${c.kind} blob cap where ${allowed.join(' or ')} is expected`, { kind: c.kind });
  return { kind: c.kind, id: c.id, key: c.key, repo: c.repo };
}

export const sameRepo = (a: MutableReadCap, b: MutableReadCap) =>
  Buffer.compare(a.pubKeyHash, b.pubKeyHash) === 0 && Buffer.compare(a.readKey, b.readKey) === 0;
