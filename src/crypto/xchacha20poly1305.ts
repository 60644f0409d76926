// XChaCha20-Poly1305 = HChaCha20 subkey (JS) + native IETF ChaCha20-Poly1305 with nonce 0^4 || nonce[16..24].
// Byte-identical to @stablelib/xchacha20poly1305 and @noble/ciphers; ~20x faster on large inputs.
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { KEY_BYTES, SEAL_PIECE_BYTES, TAG_BYTES, XNONCE_BYTES } from './constants.ts';
import { CryptoInputError, DecryptError } from './errors.ts';
import { hchacha20 } from './hchacha20.ts';

const EMPTY = new Uint8Array(0);

/** A key already run through HChaCha20 for one 16-byte nonce prefix; seals any message whose nonce starts with it. */
export interface XChaChaSubkey {
  subkey: Uint8Array;
  prefix: Uint8Array;
}

export function deriveSubkey(key: Uint8Array, noncePrefix16: Uint8Array): XChaChaSubkey {
  if (key.length !== KEY_BYTES) throw new CryptoInputError(`key must be ${KEY_BYTES} bytes`, { length: key.length });
  return { subkey: hchacha20(key, noncePrefix16), prefix: Uint8Array.from(noncePrefix16) };
}

function ietfNonce(tail8: Uint8Array): Buffer {
  const n = Buffer.alloc(12);
  n.set(tail8, 4);
  return n;
}

/**
 * Seal pieces of plaintext (concatenated) under a prepared subkey; `tail8` = nonce bytes 16..24. Ciphertext is
 * handed to `emit` in order, in chunks of at most SEAL_PIECE_BYTES that the callee owns (copy or keep them);
 * returns the 16-byte tag.
 */
export function sealStream(
  sk: XChaChaSubkey,
  tail8: Uint8Array,
  pieces: readonly Uint8Array[],
  emit: (ciphertext: Buffer) => void,
  aad: Uint8Array = EMPTY
): Buffer {
  const c = createCipheriv('chacha20-poly1305', sk.subkey, ietfNonce(tail8), { authTagLength: TAG_BYTES });
  if (aad.length) c.setAAD(aad, { plaintextLength: pieces.reduce((a, p) => a + p.length, 0) });
  for (const p of pieces) {
    for (let o = 0; o < p.length; o += SEAL_PIECE_BYTES) emit(c.update(p.subarray(o, Math.min(p.length, o + SEAL_PIECE_BYTES))));
  }
  const fin = c.final();
  if (fin.length) emit(fin);
  return c.getAuthTag();
}

/** Open `ciphertext` (no tag) with `tag` under a prepared subkey, writing plaintext into `out` (same length). Throws DecryptError. */
export function openWithSubkey(sk: XChaChaSubkey, tail8: Uint8Array, ciphertext: Uint8Array, tag: Uint8Array, out: Uint8Array, aad: Uint8Array = EMPTY): void {
  if (tag.length !== TAG_BYTES) throw new DecryptError('tag has the wrong length');
  const d = createDecipheriv('chacha20-poly1305', sk.subkey, ietfNonce(tail8), { authTagLength: TAG_BYTES });
  if (aad.length) d.setAAD(aad, { plaintextLength: ciphertext.length });
  d.setAuthTag(tag);
  let w = 0;
  for (let o = 0; o < ciphertext.length; o += SEAL_PIECE_BYTES) {
    const p = d.update(ciphertext.subarray(o, Math.min(ciphertext.length, o + SEAL_PIECE_BYTES)));
    out.set(p, w);
    w += p.length;
  }
  try {
    const fin = d.final();
    out.set(fin, w);
  } catch {
    out.fill(0);
    throw new DecryptError();
  }
}

function checkNonce(nonce: Uint8Array): void {
  if (nonce.length !== XNONCE_BYTES) throw new CryptoInputError(`nonce must be ${XNONCE_BYTES} bytes`, { length: nonce.length });
}

/** One-shot XChaCha20-Poly1305 seal: returns ciphertext || 16-byte tag. */
export function xchachaSeal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array = EMPTY): Uint8Array {
  checkNonce(nonce);
  const sk = deriveSubkey(key, nonce.subarray(0, 16));
  const out = new Uint8Array(plaintext.length + TAG_BYTES);
  let w = 0;
  const tag = sealStream(
    sk,
    nonce.subarray(16),
    [plaintext],
    (ct) => {
      out.set(ct, w);
      w += ct.length;
    },
    aad
  );
  out.set(tag, w);
  return out;
}

/** One-shot XChaCha20-Poly1305 open of ciphertext || tag. Throws DecryptError on any mismatch. */
export function xchachaOpen(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array = EMPTY): Uint8Array {
  checkNonce(nonce);
  if (sealed.length < TAG_BYTES) throw new DecryptError('sealed message shorter than its tag');
  const sk = deriveSubkey(key, nonce.subarray(0, 16));
  const ctLen = sealed.length - TAG_BYTES;
  const out = new Uint8Array(ctLen);
  openWithSubkey(sk, nonce.subarray(16), sealed.subarray(0, ctLen), sealed.subarray(ctLen), out, aad);
  return out;
}
