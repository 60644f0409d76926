// Blobs: the unit of content in a repository (a file's chunk, a chunk list, a tree, a snapshot, an index part).
// A blob is compressed (zstd, kept raw when that does not pay), then sealed with XChaCha20-Poly1305 under its
// own key and a random nonce; its kind is authenticated with it, so bytes of one kind are never read as another.
//   sealed = nonce(24) || AEAD(key, nonce, method u8 || plainLen u32be || data, AAD = "p2pb:v2:blob" || kind) (docs/FORMAT.md §Blobs)
// Keys are convergent per owner (crypto/kdf.ts blobKeys), nonces random: two devices of one owner storing the
// same chunk produce different bytes under the same key, never the same nonce.
import type { BufferPool } from '../common/buffer-pool.ts';
import { BLOB_KIND_CODES, type BlobKind } from '../caps/index.ts';
import { TAG_BYTES, TAGS } from '../crypto/constants.ts';
import { DecryptError } from '../crypto/errors.ts';
import { randomNonce } from '../crypto/random.ts';
import { deriveSubkey, openWithSubkey, sealStream } from '../crypto/xchacha20poly1305.ts';
import { COMPRESSION_ZSTD, compressAuto, decompress } from '../format/compress.ts';
import { BLOB_HEADER_BYTES, BLOB_NONCE_BYTES, BLOB_OVERHEAD_BYTES, MAX_BLOB_BYTES } from './constants.ts';
import { BlobDecompressError, BlobIntegrityError } from './errors.ts';

const enc = new TextEncoder();
const aadPrefix = enc.encode(TAGS.blobAad);
const aads = new Map<BlobKind, Uint8Array>();
function aadOf(kind: BlobKind): Uint8Array {
  let a = aads.get(kind);
  if (!a) {
    a = new Uint8Array(aadPrefix.length + 1);
    a.set(aadPrefix);
    a[aadPrefix.length] = BLOB_KIND_CODES[kind];
    aads.set(kind, a);
  }
  return a;
}

export interface SealOptions {
  /** Try zstd (default true); false stores raw (data known to be incompressible). */
  compress?: boolean;
  /** Frozen test vectors only: a fixed nonce. Production always draws a random one. */
  nonce?: Uint8Array;
}

/** A blob's payload chosen (compressed or raw), ready to be sealed where it will be stored (sealPreparedInto). */
export interface PreparedBlob {
  method: number;
  /** The payload: the plaintext itself (method 0) or its zstd frame. Not modified. */
  bytes: Uint8Array;
  plainLength: number;
  /** Bytes the sealed blob takes: nonce, header, payload, tag. */
  sealedLength: number;
}

/** Compress `plain` (auto mode; `compress: false` keeps it raw) and size its sealed form. */
export function prepareBlob(plain: Uint8Array, o: Pick<SealOptions, 'compress'> = {}): PreparedBlob {
  if (plain.length > MAX_BLOB_BYTES) throw new RangeError(`blob of ${plain.length} bytes is over ${MAX_BLOB_BYTES}`);
  const { method, bytes } = o.compress === false ? { method: 0, bytes: plain } : compressAuto(plain);
  return { method, bytes, plainLength: plain.length, sealedLength: sealedLength(bytes.length) };
}

/**
 * Seal a prepared blob of `kind` under `key` into `dest` (exactly `p.sealedLength` bytes: a pack's room for it,
 * so the sealed bytes are written once, where they are stored).
 */
export function sealPreparedInto(dest: Uint8Array, kind: BlobKind, p: PreparedBlob, key: Uint8Array, nonceIn?: Uint8Array): void {
  if (dest.length !== p.sealedLength) throw new RangeError(`room of ${dest.length} bytes for a sealed blob of ${p.sealedLength}`);
  const header = new Uint8Array(BLOB_HEADER_BYTES);
  header[0] = p.method;
  new DataView(header.buffer).setUint32(1, p.plainLength);
  const nonce = nonceIn ?? randomNonce(BLOB_NONCE_BYTES);
  dest.set(nonce, 0);
  let w = BLOB_NONCE_BYTES;
  const tag = sealStream(
    deriveSubkey(key, nonce.subarray(0, 16)),
    nonce.subarray(16),
    [header, p.bytes],
    (ct) => {
      dest.set(ct, w);
      w += ct.length;
    },
    aadOf(kind)
  );
  dest.set(tag, w);
}

/** Seal `plain` (not modified) as a blob of `kind` under `key`; a fresh buffer the caller owns. */
export function sealBlob(kind: BlobKind, plain: Uint8Array, key: Uint8Array, o: SealOptions = {}): Uint8Array {
  const p = prepareBlob(plain, o);
  const out = new Uint8Array(p.sealedLength);
  sealPreparedInto(out, kind, p, key, o.nonce);
  return out;
}

/** Plaintext length a sealed blob would declare, without opening it: unknown (it is encrypted); sizes for accounting. */
export const sealedLength = (compressedLength: number) => BLOB_OVERHEAD_BYTES + compressedLength;

/**
 * Open a sealed blob of `kind` (untrusted bytes). Throws BlobIntegrityError (wrong key, altered, other kind, a
 * declared length over `maxPlain`) or BlobDecompressError; never returns bytes that did not authenticate.
 */
export function openBlob(kind: BlobKind, sealed: Uint8Array, key: Uint8Array, o: { maxPlain?: number; pool?: BufferPool } = {}): Uint8Array {
  if (sealed.length < BLOB_OVERHEAD_BYTES) throw new BlobIntegrityError('shorter than its framing', { length: sealed.length });
  const nonce = sealed.subarray(0, BLOB_NONCE_BYTES);
  const ctLen = sealed.length - BLOB_NONCE_BYTES - TAG_BYTES;
  const payload = o.pool ? o.pool.take(ctLen) : new Uint8Array(ctLen); // pooled: see Repository.releaseBlob
  let plain: Uint8Array | undefined;
  try {
    try {
      openWithSubkey(
        deriveSubkey(key, nonce.subarray(0, 16)),
        nonce.subarray(16),
        sealed.subarray(BLOB_NONCE_BYTES, BLOB_NONCE_BYTES + ctLen),
        sealed.subarray(BLOB_NONCE_BYTES + ctLen),
        payload,
        aadOf(kind)
      );
    } catch (e) {
      if (e instanceof DecryptError) throw new BlobIntegrityError(`does not authenticate as a ${kind} blob under its key`, { kind });
      throw e;
    }
    const method = payload[0];
    const plainLen = new DataView(payload.buffer, payload.byteOffset, payload.length).getUint32(1);
    const max = Math.min(o.maxPlain ?? MAX_BLOB_BYTES, MAX_BLOB_BYTES);
    if (plainLen > max) throw new BlobIntegrityError(`declares ${plainLen} bytes, more than the ${max} allowed here`, { plainLen, max });
    // Pooled: the plaintext of a compressed blob is decoded into pooled memory too (a byte more, see decompress).
    const into = o.pool && method === COMPRESSION_ZSTD ? o.pool.take(plainLen + 1) : undefined;
    try {
      plain = decompress(method, payload.subarray(BLOB_HEADER_BYTES), plainLen, into);
    } catch (e) {
      throw new BlobDecompressError((e as Error).message, { method, plainLen });
    } finally {
      if (into && plain?.buffer !== into.buffer) o.pool!.give(into); // failed, or decoded into memory of its own (one-shot)
    }
    return plain;
  } finally {
    // Pooled memory the caller does not get goes back: the payload of a failed open, or of a decompressed blob.
    if (plain?.buffer !== payload.buffer) o.pool?.give(payload);
  }
}
