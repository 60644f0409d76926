// Text form: p2pb:<type>:<base32 body>:<base32 checksum>
//   body     = u8 version (2) || type-specific fields (see docs/FORMAT.md §Caps)
//   checksum = taggedHash(TAGS.capChecksum, ascii type, body)[0..5]
// Lowercase on output; parse also accepts upper case (QR alphanumeric mode) and surrounding whitespace.
// Every field is checked before use; a cap of format version 1 gets its own error (ERR_CAP_FORMAT_V1).
import { TAGS } from '../crypto/constants.ts';
import { taggedHash } from '../crypto/hash.ts';
import { base32Decode, base32Encode } from './base32.ts';
import { BLOB_KIND_CODES, CAP_CHECKSUM_BYTES, CAP_PREFIX, CAP_VERSION, LITERAL_MAX_BYTES, MAX_FILE_SIZE, V1_CAP_TYPES } from './constants.ts';
import { InvalidCapError } from './errors.ts';
import type { BlobKind, Cap, CapType, MutableReadCap, PackCap } from './types.ts';

const enc = new TextEncoder();
const TYPES: readonly CapType[] = ['pack', 'blob', 'lit', 'mw', 'mr', 'mv'];
const KIND_OF_CODE = new Map(Object.entries(BLOB_KIND_CODES).map(([k, v]) => [v as number, k as BlobKind]));

function checksum(type: string, body: Uint8Array): Uint8Array {
  return taggedHash(TAGS.capChecksum, enc.encode(type), body).slice(0, CAP_CHECKSUM_BYTES);
}

function bytesField(b: Uint8Array | undefined, len: number, what: string): Uint8Array {
  if (!(b instanceof Uint8Array) || b.length !== len)
    throw new InvalidCapError('ERR_CAP_BAD_FIELD', `${what} must be ${len} bytes`, { field: what, length: b?.length });
  return b;
}

function checkPackParams(k: number, n: number, size: number): void {
  if (!Number.isInteger(k) || !Number.isInteger(n) || k < 1 || n < k || n > 255)
    throw new InvalidCapError('ERR_CAP_BAD_FIELD', 'need 1 <= k <= n <= 255', { k, n });
  if (!Number.isSafeInteger(size) || size < 1 || size > MAX_FILE_SIZE) throw new InvalidCapError('ERR_CAP_BAD_FIELD', 'bad pack size', { size });
}

/** Body sizes (version byte included); null: variable (literal). */
const EXPECTED_LEN: Record<CapType, number | null> = { pack: 43, blob: 130, lit: null, mw: 33, mr: 65, mv: 33 };

/** Binary body (version byte first) of a cap. */
export function capBody(cap: Cap): Uint8Array {
  switch (cap.type) {
    case 'pack': {
      checkPackParams(cap.k, cap.n, cap.size);
      const b = new Uint8Array(EXPECTED_LEN.pack!);
      b[0] = CAP_VERSION;
      b.set(bytesField(cap.uebHash, 32, 'uebHash'), 1);
      b[33] = cap.k;
      b[34] = cap.n;
      new DataView(b.buffer).setBigUint64(35, BigInt(cap.size));
      return b;
    }
    case 'blob': {
      const code = BLOB_KIND_CODES[cap.kind];
      if (code === undefined) throw new InvalidCapError('ERR_CAP_BAD_FIELD', 'unknown blob kind', { kind: cap.kind });
      const b = new Uint8Array(EXPECTED_LEN.blob!);
      b[0] = CAP_VERSION;
      b[1] = code;
      b.set(bytesField(cap.id, 32, 'id'), 2);
      b.set(bytesField(cap.key, 32, 'key'), 34);
      b.set(bytesField(cap.repo?.pubKeyHash, 32, 'repo'), 66);
      b.set(bytesField(cap.repo?.readKey, 32, 'repo'), 98);
      return b;
    }
    case 'lit': {
      if (!(cap.data instanceof Uint8Array) || cap.data.length > LITERAL_MAX_BYTES)
        throw new InvalidCapError('ERR_CAP_BAD_FIELD', `literal data over ${LITERAL_MAX_BYTES} bytes`);
      const b = new Uint8Array(1 + cap.data.length);
      b[0] = CAP_VERSION;
      b.set(cap.data, 1);
      return b;
    }
    case 'mw': {
      const b = new Uint8Array(33);
      b[0] = CAP_VERSION;
      b.set(bytesField(cap.seed, 32, 'seed'), 1);
      return b;
    }
    case 'mr': {
      const b = new Uint8Array(65);
      b[0] = CAP_VERSION;
      b.set(bytesField(cap.pubKeyHash, 32, 'pubKeyHash'), 1);
      b.set(bytesField(cap.readKey, 32, 'readKey'), 33);
      return b;
    }
    case 'mv': {
      const b = new Uint8Array(33);
      b[0] = CAP_VERSION;
      b.set(bytesField(cap.pubKeyHash, 32, 'pubKeyHash'), 1);
      return b;
    }
    default:
      throw new InvalidCapError('ERR_CAP_UNKNOWN_TYPE', 'unknown cap type', { type: (cap as { type: unknown }).type });
  }
}

/**
 * A pack cap's identity as a short string, for maps and sets: every field, hex and decimal, without formatCap's
 * base32 and checksum (a tagged SHA-256 per call: a restore keyed its pack cache by formatCap, once per blob read). Not a cap: never parse it, never show it.
 */
export function packKey(cap: PackCap): string {
  return `${Buffer.from(cap.uebHash.buffer, cap.uebHash.byteOffset, cap.uebHash.byteLength).toString('hex')}.${cap.k}.${cap.n}.${cap.size}`;
}

export function formatCap(cap: Cap): string {
  const body = capBody(cap);
  return `${CAP_PREFIX}:${cap.type}:${base32Encode(body)}:${base32Encode(checksum(cap.type, body))}`;
}

const formatV1 = () =>
  new InvalidCapError(
    'ERR_CAP_FORMAT_V1',
    'this cap is from p2pbackup format version 1, which this version no longer reads (format 2 stores content in chunks and packs): back the data up again',
    { formatVersion: 1 }
  );

export function parseCap(text: string): Cap {
  if (typeof text !== 'string') throw new InvalidCapError('ERR_CAP_BAD_PREFIX', 'a cap is a string');
  const s = text.trim().toLowerCase();
  const parts = s.split(':');
  if (parts[0] !== CAP_PREFIX || parts.length !== 4)
    throw new InvalidCapError('ERR_CAP_BAD_PREFIX', `not a p2pbackup cap (expected ${CAP_PREFIX}:<type>:<body>:<checksum>)`);
  const type = parts[1] as CapType;
  const v1Type = (V1_CAP_TYPES as readonly string[]).includes(parts[1]);
  if (!TYPES.includes(type) && !v1Type) throw new InvalidCapError('ERR_CAP_UNKNOWN_TYPE', `unknown cap type "${parts[1]}"`, { type: parts[1] });
  const body = base32Decode(parts[2]);
  const sum = base32Decode(parts[3]);
  if (!body || !sum) throw new InvalidCapError('ERR_CAP_BAD_BASE32', 'cap contains characters or a length that are not valid base32');
  if (sum.length !== CAP_CHECKSUM_BYTES || Buffer.compare(sum, checksum(parts[1], body)) !== 0) {
    throw new InvalidCapError('ERR_CAP_BAD_CHECKSUM', 'cap checksum does not match: it was mistyped or truncated');
  }
  if (v1Type || body[0] === 1) throw formatV1();
  if (body.length < 1 || body[0] !== CAP_VERSION) throw new InvalidCapError('ERR_CAP_UNKNOWN_VERSION', `unknown cap version ${body[0]}`, { version: body[0] });
  const expected = EXPECTED_LEN[type];
  if (expected !== null ? body.length !== expected : body.length > 1 + LITERAL_MAX_BYTES) {
    throw new InvalidCapError('ERR_CAP_BAD_LENGTH', `cap body has ${body.length} bytes`, { length: body.length, expected });
  }
  const dv = new DataView(body.buffer, body.byteOffset, body.length);
  switch (type) {
    case 'pack': {
      const big = dv.getBigUint64(35);
      if (big > BigInt(MAX_FILE_SIZE)) throw new InvalidCapError('ERR_CAP_BAD_FIELD', 'pack size too large');
      const cap = { type, uebHash: body.slice(1, 33), k: body[33], n: body[34], size: Number(big) } as const;
      checkPackParams(cap.k, cap.n, cap.size);
      return cap;
    }
    case 'blob': {
      const kind = KIND_OF_CODE.get(body[1]);
      if (!kind) throw new InvalidCapError('ERR_CAP_BAD_FIELD', `unknown blob kind ${body[1]}`, { kind: body[1] });
      const repo: MutableReadCap = { type: 'mr', pubKeyHash: body.slice(66, 98), readKey: body.slice(98, 130) };
      return { type, kind, id: body.slice(2, 34), key: body.slice(34, 66), repo };
    }
    case 'lit':
      return { type, data: body.slice(1) };
    case 'mw':
      return { type, seed: body.slice(1) };
    case 'mr':
      return { type, pubKeyHash: body.slice(1, 33), readKey: body.slice(33) };
    case 'mv':
      return { type, pubKeyHash: body.slice(1) };
  }
  throw formatV1();
}
