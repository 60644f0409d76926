import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { XChaCha20Poly1305 } from '@stablelib/xchacha20poly1305';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { hchacha20, xchachaSeal, xchachaOpen, DecryptError, randomBytes } from '../../src/crypto/index.ts';

const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const V = JSON.parse(readFileSync(new URL('../vectors/xchacha.json', import.meta.url), 'utf8'));

test('HChaCha20 matches draft-irtf-cfrg-xchacha §2.2.1, and refuses a key or nonce of another length', () => {
  assert.deepEqual(hchacha20(hex(V.hchacha20.key), hex(V.hchacha20.nonce)), hex(V.hchacha20.subkey));
  // Views that do not start their buffer read the same words.
  const k = new Uint8Array(40);
  k.set(hex(V.hchacha20.key), 3);
  const n = new Uint8Array(20);
  n.set(hex(V.hchacha20.nonce), 1);
  assert.deepEqual(hchacha20(k.subarray(3, 35), n.subarray(1, 17)), hex(V.hchacha20.subkey));
  const nonce = hex(V.hchacha20.nonce);
  for (const bad of [31, 33, 0]) assert.throws(() => hchacha20(new Uint8Array(bad), nonce), { name: 'CryptoInputError', message: /key must be 32 bytes/ });
  for (const bad of [15, 24])
    assert.throws(() => hchacha20(hex(V.hchacha20.key), new Uint8Array(bad)), { name: 'CryptoInputError', message: /nonce must be 16 bytes/ });
});

test('XChaCha20-Poly1305 matches draft-irtf-cfrg-xchacha §A.3.1', () => {
  const pt = new TextEncoder().encode(V.aead.plaintext_utf8);
  const sealed = xchachaSeal(hex(V.aead.key), hex(V.aead.nonce), pt, hex(V.aead.aad));
  assert.equal(Buffer.from(sealed).toString('hex'), V.aead.ciphertext + V.aead.tag);
  assert.deepEqual(xchachaOpen(hex(V.aead.key), hex(V.aead.nonce), sealed, hex(V.aead.aad)), pt);
});

test('byte-identical to @stablelib and @noble on random inputs; tampering refused', () => {
  for (const len of [0, 1, 15, 16, 63, 64, 65, 1000, 70000]) {
    const key = randomBytes(32),
      nonce = randomBytes(24),
      pt = randomBytes(len);
    const aad = len % 2 ? randomBytes(len % 37) : new Uint8Array(0);
    const ours = xchachaSeal(key, nonce, pt, aad);
    assert.deepEqual(ours, new XChaCha20Poly1305(key).seal(nonce, pt, aad));
    assert.deepEqual(ours, xchacha20poly1305(key, nonce, aad).encrypt(pt));
    assert.deepEqual(xchachaOpen(key, nonce, ours, aad), pt);
    const bad = Uint8Array.from(ours);
    bad[len % bad.length] ^= 1;
    assert.throws(() => xchachaOpen(key, nonce, bad, aad), DecryptError);
  }
});
