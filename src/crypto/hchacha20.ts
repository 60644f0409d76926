// HChaCha20 (draft-irtf-cfrg-xchacha §2.2): key (32) + first 16 nonce bytes -> 32-byte subkey.
// Pure JS; computed once per (key, nonce prefix), so speed does not matter.
import { CryptoInputError } from './errors.ts';

const rotl = (x: number, n: number) => (x << n) | (x >>> (32 - n));

export function hchacha20(key: Uint8Array, nonce16: Uint8Array): Uint8Array {
  if (key.length !== 32) throw new CryptoInputError('HChaCha20 key must be 32 bytes', { length: key.length });
  if (nonce16.length !== 16) throw new CryptoInputError('HChaCha20 nonce must be 16 bytes', { length: nonce16.length });
  const kv = new DataView(key.buffer, key.byteOffset, 32);
  const nv = new DataView(nonce16.buffer, nonce16.byteOffset, 16);
  const s = new Uint32Array(16);
  s[0] = 0x61707865;
  s[1] = 0x3320646e;
  s[2] = 0x79622d32;
  s[3] = 0x6b206574;
  for (let i = 0; i < 8; i++) s[4 + i] = kv.getUint32(i * 4, true);
  for (let i = 0; i < 4; i++) s[12 + i] = nv.getUint32(i * 4, true);
  const qr = (a: number, b: number, c: number, d: number) => {
    s[a] += s[b];
    s[d] = rotl(s[d] ^ s[a], 16);
    s[c] += s[d];
    s[b] = rotl(s[b] ^ s[c], 12);
    s[a] += s[b];
    s[d] = rotl(s[d] ^ s[a], 8);
    s[c] += s[d];
    s[b] = rotl(s[b] ^ s[c], 7);
  };
  for (let i = 0; i < 10; i++) {
    qr(0, 4, 8, 12);
    qr(1, 5, 9, 13);
    qr(2, 6, 10, 14);
    qr(3, 7, 11, 15);
    qr(0, 5, 10, 15);
    qr(1, 6, 11, 12);
    qr(2, 7, 8, 13);
    qr(3, 4, 9, 14);
  }
  const out = new Uint8Array(32);
  const ov = new DataView(out.buffer);
  for (let i = 0; i < 4; i++) ov.setUint32(i * 4, s[i], true);
  for (let i = 0; i < 4; i++) ov.setUint32(16 + i * 4, s[12 + i], true);
  return out;
}
