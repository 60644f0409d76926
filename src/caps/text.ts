// Text form: p2pb:<type>:<base32 body>:<base32 checksum>
//   body     = u8 version (1) || type-specific fields (see docs/FORMAT.md)
//   checksum = taggedHash(TAGS.capChecksum, ascii type, body)[0..5]
// Lowercase on output; parse also accepts upper case (QR alphanumeric mode) and surrounding whitespace.
import { TAGS } from '../crypto/constants.ts';
import { taggedHash } from '../crypto/hash.ts';
import { base32Decode, base32Encode } from './base32.ts';
import { CAP_CHECKSUM_BYTES, CAP_PREFIX, CAP_VERSION, LITERAL_MAX_BYTES, MAX_FILE_SIZE } from './constants.ts';
import { InvalidCapError } from './errors.ts';
import type { Cap, CapType, ReadCap } from './types.ts';

const enc = new TextEncoder();
const TYPES: readonly CapType[] = ['chk', 'chkv', 'slice', 'lit', 'mw', 'mr', 'mv'];

function checksum(type: string, body: Uint8Array): Uint8Array {
  return taggedHash(TAGS.capChecksum, enc.encode(type), body).slice(0, CAP_CHECKSUM_BYTES);
}

function bytesField(b: Uint8Array, len: number, what: string): Uint8Array {
  if (b.length !== len) throw new InvalidCapError('ERR_CAP_BAD_FIELD', `${what} must be ${len} bytes`, { field: what, length: b.length });
  return b;
}

function checkParams(k: number, n: number, size: number): void {
  if (!Number.isInteger(k) || !Number.isInteger(n) || k < 1 || n < k || n > 255) throw new InvalidCapError('ERR_CAP_BAD_FIELD', 'need 1 <= k <= n <= 255', { k, n });
  if (!Number.isSafeInteger(size) || size < 0 || size > MAX_FILE_SIZE) throw new InvalidCapError('ERR_CAP_BAD_FIELD', 'bad file size', { size });
  if (size <= LITERAL_MAX_BYTES) throw new InvalidCapError('ERR_CAP_BAD_FIELD', `files of <= ${LITERAL_MAX_BYTES} bytes use literal caps`, { size });
}

const EXPECTED_LEN: Record<CapType, number | null> = { chk: 75, chkv: 59, slice: 91, lit: null, mw: 33, mr: 65, mv: 33 };

function checkRange(offset: number, length: number, size: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 1 || offset + length > size) {
    throw new InvalidCapError('ERR_CAP_BAD_FIELD', 'a slice must be a non-empty byte range inside its pack', { offset, length, size });
  }
}

/** Binary body (version byte first) of a cap. */
export function capBody(cap: Cap): Uint8Array {
  switch (cap.type) {
    case 'slice': {
      if (cap.pack?.type !== 'chk') throw new InvalidCapError('ERR_CAP_BAD_FIELD', 'a slice names a range of a read cap (chk)');
      checkRange(cap.offset, cap.length, cap.pack.size);
      const b = new Uint8Array(EXPECTED_LEN.slice!);
      b.set(capBody(cap.pack));
      const dv = new DataView(b.buffer);
      dv.setBigUint64(EXPECTED_LEN.chk!, BigInt(cap.offset));
      dv.setBigUint64(EXPECTED_LEN.chk! + 8, BigInt(cap.length));
      return b;
    }
    case 'chk': case 'chkv': {
      checkParams(cap.k, cap.n, cap.size);
      const first = cap.type === 'chk' ? bytesField(cap.key, 32, 'key') : bytesField(cap.storageIndex, 16, 'storageIndex');
      const b = new Uint8Array(1 + first.length + 32 + 2 + 8);
      b[0] = CAP_VERSION; b.set(first, 1); b.set(bytesField(cap.uebHash, 32, 'uebHash'), 1 + first.length);
      let o = 1 + first.length + 32;
      b[o++] = cap.k; b[o++] = cap.n;
      new DataView(b.buffer).setBigUint64(o, BigInt(cap.size));
      return b;
    }
    case 'lit': {
      if (cap.data.length > LITERAL_MAX_BYTES) throw new InvalidCapError('ERR_CAP_BAD_FIELD', `literal data over ${LITERAL_MAX_BYTES} bytes`);
      const b = new Uint8Array(1 + cap.data.length); b[0] = CAP_VERSION; b.set(cap.data, 1); return b;
    }
    case 'mw': { const b = new Uint8Array(33); b[0] = CAP_VERSION; b.set(bytesField(cap.seed, 32, 'seed'), 1); return b; }
    case 'mr': {
      const b = new Uint8Array(65); b[0] = CAP_VERSION;
      b.set(bytesField(cap.pubKeyHash, 32, 'pubKeyHash'), 1); b.set(bytesField(cap.readKey, 32, 'readKey'), 33); return b;
    }
    case 'mv': { const b = new Uint8Array(33); b[0] = CAP_VERSION; b.set(bytesField(cap.pubKeyHash, 32, 'pubKeyHash'), 1); return b; }
    default: throw new InvalidCapError('ERR_CAP_UNKNOWN_TYPE', 'unknown cap type', { type: (cap as { type: unknown }).type });
  }
}

export function formatCap(cap: Cap): string {
  const body = capBody(cap);
  return `${CAP_PREFIX}:${cap.type}:${base32Encode(body)}:${base32Encode(checksum(cap.type, body))}`;
}

export function parseCap(text: string): Cap {
  if (typeof text !== 'string') throw new InvalidCapError('ERR_CAP_BAD_PREFIX', 'a cap is a string');
  const s = text.trim().toLowerCase();
  const parts = s.split(':');
  if (parts[0] !== CAP_PREFIX || parts.length !== 4) throw new InvalidCapError('ERR_CAP_BAD_PREFIX', `not a p2pbackup cap (expected ${CAP_PREFIX}:<type>:<body>:<checksum>)`);
  const type = parts[1] as CapType;
  if (!TYPES.includes(type)) throw new InvalidCapError('ERR_CAP_UNKNOWN_TYPE', `unknown cap type "${parts[1]}"`, { type: parts[1] });
  const body = base32Decode(parts[2]);
  const sum = base32Decode(parts[3]);
  if (!body || !sum) throw new InvalidCapError('ERR_CAP_BAD_BASE32', 'cap contains characters or a length that are not valid base32');
  if (sum.length !== CAP_CHECKSUM_BYTES || Buffer.compare(sum, checksum(type, body)) !== 0) {
    throw new InvalidCapError('ERR_CAP_BAD_CHECKSUM', 'cap checksum does not match: it was mistyped or truncated');
  }
  if (body.length < 1 || body[0] !== CAP_VERSION) throw new InvalidCapError('ERR_CAP_UNKNOWN_VERSION', `unknown cap version ${body[0]}`, { version: body[0] });
  const expected = EXPECTED_LEN[type];
  if (expected !== null ? body.length !== expected : body.length > 1 + LITERAL_MAX_BYTES) {
    throw new InvalidCapError('ERR_CAP_BAD_LENGTH', `cap body has ${body.length} bytes`, { length: body.length, expected });
  }
  const dv = new DataView(body.buffer, body.byteOffset, body.length);
  switch (type) {
    case 'slice': {
      const pack = parseBody('chk', body.subarray(0, EXPECTED_LEN.chk!), dv) as ReadCap;
      const offset = dv.getBigUint64(EXPECTED_LEN.chk!), length = dv.getBigUint64(EXPECTED_LEN.chk! + 8);
      if (offset > BigInt(MAX_FILE_SIZE) || length > BigInt(MAX_FILE_SIZE)) throw new InvalidCapError('ERR_CAP_BAD_FIELD', 'slice range too large');
      checkRange(Number(offset), Number(length), pack.size);
      return { type, pack, offset: Number(offset), length: Number(length) };
    }
    default: return parseBody(type, body, dv);
  }
}

function parseBody(type: Exclude<CapType, 'slice'>, body: Uint8Array, dv: DataView): Cap {
  switch (type) {
    case 'chk': case 'chkv': {
      const fl = type === 'chk' ? 32 : 16;
      const first = body.slice(1, 1 + fl);
      const uebHash = body.slice(1 + fl, 33 + fl);
      const k = body[33 + fl], n = body[34 + fl];
      const big = dv.getBigUint64(35 + fl);
      if (big > BigInt(MAX_FILE_SIZE)) throw new InvalidCapError('ERR_CAP_BAD_FIELD', 'file size too large');
      const size = Number(big);
      checkParams(k, n, size);
      return type === 'chk' ? { type, key: first, uebHash, k, n, size } : { type, storageIndex: first, uebHash, k, n, size };
    }
    case 'lit': return { type, data: body.slice(1) };
    case 'mw': return { type, seed: body.slice(1) };
    case 'mr': return { type, pubKeyHash: body.slice(1, 33), readKey: body.slice(33) };
    case 'mv': return { type, pubKeyHash: body.slice(1) };
  }
}
