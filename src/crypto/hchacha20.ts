// HChaCha20 (draft-irtf-cfrg-xchacha §2.2): key (32) + first 16 nonce bytes -> 32-byte subkey.
// Pure JS, run once per sealed or opened blob (tens of thousands in a tree's restore): the state lives in one
// module-level array and the quarter round is a plain function, so a call allocates only its result
// (1.2 µs a call here, against 2-2.9 µs with a state, two DataViews and a closure of its own per call).
import { CryptoInputError } from './errors.ts';

const S = new Uint32Array(16);

const rotl = (x: number, n: number) => (x << n) | (x >>> (32 - n));

function qr(s: Uint32Array, a: number, b: number, c: number, d: number): void {
  s[a] += s[b];
  s[d] = rotl(s[d] ^ s[a], 16);
  s[c] += s[d];
  s[b] = rotl(s[b] ^ s[c], 12);
  s[a] += s[b];
  s[d] = rotl(s[d] ^ s[a], 8);
  s[c] += s[d];
  s[b] = rotl(s[b] ^ s[c], 7);
}

/** Little-endian 32-bit word of `b` at `o`. */
const le32 = (b: Uint8Array, o: number) => (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;

function putLe32(out: Uint8Array, o: number, v: number): void {
  out[o] = v;
  out[o + 1] = v >>> 8;
  out[o + 2] = v >>> 16;
  out[o + 3] = v >>> 24;
}

export function hchacha20(key: Uint8Array, nonce16: Uint8Array): Uint8Array {
  if (key.length !== 32) throw new CryptoInputError('HChaCha20 key must be 32 bytes', { length: key.length });
  if (nonce16.length !== 16) throw new CryptoInputError('HChaCha20 nonce must be 16 bytes', { length: nonce16.length });
  const s = S;
  s[0] = 0x61707865;
  s[1] = 0x3320646e;
  s[2] = 0x79622d32;
  s[3] = 0x6b206574;
  for (let i = 0; i < 8; i++) s[4 + i] = le32(key, i * 4);
  for (let i = 0; i < 4; i++) s[12 + i] = le32(nonce16, i * 4);
  for (let i = 0; i < 10; i++) {
    qr(s, 0, 4, 8, 12);
    qr(s, 1, 5, 9, 13);
    qr(s, 2, 6, 10, 14);
    qr(s, 3, 7, 11, 15);
    qr(s, 0, 5, 10, 15);
    qr(s, 1, 6, 11, 12);
    qr(s, 2, 7, 8, 13);
    qr(s, 3, 4, 9, 14);
  }
  const out = new Uint8Array(32);
  for (let i = 0; i < 4; i++) {
    putLe32(out, i * 4, s[i]);
    putLe32(out, 16 + i * 4, s[12 + i]);
  }
  s.fill(0); // no key-derived words left in the shared state
  return out;
}
