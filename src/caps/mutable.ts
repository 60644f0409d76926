// Signed, sequence-numbered mutable records (for folders). Byte layout in docs/FORMAT.md "Mutable records".
import { TAGS } from '../crypto/constants.ts';
import { taggedHash } from '../crypto/hash.ts';
import { randomBytes } from '../crypto/random.ts';
import { ed25519Sign, ed25519Verify } from '../crypto/sign.ts';
import { xchachaOpen, xchachaSeal } from '../crypto/xchacha20poly1305.ts';
import { DecryptError } from '../crypto/errors.ts';
import { RECORD_HEADER_BYTES, RECORD_MAGIC, RECORD_MAX_PAYLOAD_BYTES, RECORD_SIGNATURE_BYTES, RECORD_VERSION } from './constants.ts';
import { mutablePublicKey, pubKeyHashOf, storageIndexOf, toReadCap, toVerifyCap } from './derive.ts';
import { InvalidRecordError } from './errors.ts';
import type { MutableReadCap, MutableVerifyCap, MutableWriteCap } from './types.ts';

export interface VerifiedRecord {
  seq: number;
  publicKey: Uint8Array;
  nonce: Uint8Array;
  ciphertext: Uint8Array; // payload || 16-byte tag
  signature: Uint8Array;
}

export function createMutableWriteCap(): MutableWriteCap {
  return { type: 'mw', seed: randomBytes(32) };
}

function signedDigest(cap: MutableVerifyCap, signedBytes: Uint8Array): Uint8Array {
  return taggedHash(TAGS.mutableSignature, storageIndexOf(cap)!, signedBytes);
}

/** Encrypt `payload` and sign it as record number `seq` of the slot. */
export function signRecord(cap: MutableWriteCap, seq: number, payload: Uint8Array): Uint8Array {
  if (!Number.isSafeInteger(seq) || seq < 0) throw new InvalidRecordError('ERR_RECORD_MALFORMED', 'seq must be a safe non-negative integer', { seq });
  if (payload.length > RECORD_MAX_PAYLOAD_BYTES) throw new InvalidRecordError('ERR_RECORD_MALFORMED', 'payload too large', { length: payload.length });
  const pub = mutablePublicKey(cap);
  const rc = toReadCap(cap);
  const nonce = randomBytes(24);
  const ctLen = payload.length + 16;
  const rec = new Uint8Array(RECORD_HEADER_BYTES + ctLen + RECORD_SIGNATURE_BYTES);
  const dv = new DataView(rec.buffer);
  rec.set(RECORD_MAGIC, 0);
  rec[4] = RECORD_VERSION;
  dv.setBigUint64(8, BigInt(seq));
  rec.set(pub, 16);
  rec.set(nonce, 48);
  dv.setUint32(72, ctLen);
  rec.set(xchachaSeal(rc.readKey, nonce, payload, rec.subarray(0, RECORD_HEADER_BYTES)), RECORD_HEADER_BYTES);
  const signed = rec.subarray(0, RECORD_HEADER_BYTES + ctLen);
  rec.set(ed25519Sign(cap.seed, signedDigest(toVerifyCap(cap), signed)), RECORD_HEADER_BYTES + ctLen);
  return rec;
}

/** Parse (bounded), check the key matches the cap and the signature is valid. No decryption. */
export function verifyRecord(cap: MutableWriteCap | MutableReadCap | MutableVerifyCap, record: Uint8Array): VerifiedRecord {
  const bad = (msg: string, details: Record<string, unknown> = {}) => new InvalidRecordError('ERR_RECORD_MALFORMED', msg, details);
  if (record.length < RECORD_HEADER_BYTES + 16 + RECORD_SIGNATURE_BYTES) throw bad('record too short', { length: record.length });
  const dv = new DataView(record.buffer, record.byteOffset, record.length);
  for (let i = 0; i < 4; i++) if (record[i] !== RECORD_MAGIC[i]) throw bad('bad record magic');
  if (record[4] !== RECORD_VERSION) throw bad('unknown record version', { version: record[4] });
  if (record[5] | record[6] | record[7]) throw bad('reserved bytes not zero');
  const seqBig = dv.getBigUint64(8);
  if (seqBig > BigInt(Number.MAX_SAFE_INTEGER)) throw bad('seq out of range');
  const ctLen = dv.getUint32(72);
  if (ctLen < 16 || ctLen > RECORD_MAX_PAYLOAD_BYTES + 16) throw bad('ciphertext length out of range', { ctLen });
  if (record.length !== RECORD_HEADER_BYTES + ctLen + RECORD_SIGNATURE_BYTES)
    throw bad('record length does not match its header', { length: record.length, ctLen });
  const publicKey = record.slice(16, 48);
  const vc = toVerifyCap(cap);
  if (Buffer.compare(pubKeyHashOf(publicKey), vc.pubKeyHash) !== 0)
    throw new InvalidRecordError('ERR_RECORD_WRONG_KEY', 'record is signed by a key this cap does not name');
  const signed = record.subarray(0, RECORD_HEADER_BYTES + ctLen);
  const signature = record.slice(RECORD_HEADER_BYTES + ctLen);
  if (!ed25519Verify(publicKey, signedDigest(vc, signed), signature)) throw new InvalidRecordError('ERR_RECORD_BAD_SIGNATURE', 'record signature is invalid');
  return { seq: Number(seqBig), publicKey, nonce: record.slice(48, 72), ciphertext: record.slice(RECORD_HEADER_BYTES, RECORD_HEADER_BYTES + ctLen), signature };
}

/** Verify then decrypt a record. */
export function openRecord(cap: MutableWriteCap | MutableReadCap, record: Uint8Array): { seq: number; payload: Uint8Array } {
  const v = verifyRecord(cap, record);
  try {
    return { seq: v.seq, payload: xchachaOpen(toReadCap(cap).readKey, v.nonce, v.ciphertext, record.subarray(0, RECORD_HEADER_BYTES)) };
  } catch (e) {
    if (e instanceof DecryptError) throw new InvalidRecordError('ERR_RECORD_DECRYPT', 'record does not decrypt under this read key');
    throw e;
  }
}
