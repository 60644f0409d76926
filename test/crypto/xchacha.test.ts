import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { XChaCha20Poly1305 } from '@stablelib/xchacha20poly1305';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { hchacha20, xchachaSeal, xchachaOpen, DecryptError, randomBytes, segmentSealer, segmentNonce } from '../../src/crypto/index.ts';

const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const V = JSON.parse(readFileSync(new URL('../vectors/xchacha.json', import.meta.url), 'utf8'));

test('HChaCha20 matches draft-irtf-cfrg-xchacha §2.2.1', () => {
  assert.deepEqual(hchacha20(hex(V.hchacha20.key), hex(V.hchacha20.nonce)), hex(V.hchacha20.subkey));
});

test('XChaCha20-Poly1305 matches draft-irtf-cfrg-xchacha §A.3.1', () => {
  const pt = new TextEncoder().encode(V.aead.plaintext_utf8);
  const sealed = xchachaSeal(hex(V.aead.key), hex(V.aead.nonce), pt, hex(V.aead.aad));
  assert.equal(Buffer.from(sealed).toString('hex'), V.aead.ciphertext + V.aead.tag);
  assert.deepEqual(xchachaOpen(hex(V.aead.key), hex(V.aead.nonce), sealed, hex(V.aead.aad)), pt);
});

test('byte-identical to @stablelib and @noble on random inputs; tampering refused', () => {
  for (const len of [0, 1, 15, 16, 63, 64, 65, 1000, 70000]) {
    const key = randomBytes(32), nonce = randomBytes(24), pt = randomBytes(len);
    const aad = len % 2 ? randomBytes(len % 37) : new Uint8Array(0);
    const ours = xchachaSeal(key, nonce, pt, aad);
    assert.deepEqual(ours, new XChaCha20Poly1305(key).seal(nonce, pt, aad));
    assert.deepEqual(ours, xchacha20poly1305(key, nonce, aad).encrypt(pt));
    assert.deepEqual(xchachaOpen(key, nonce, ours, aad), pt);
    const bad = Uint8Array.from(ours); bad[len % bad.length] ^= 1;
    assert.throws(() => xchachaOpen(key, nonce, bad, aad), DecryptError);
  }
});

test('segment sealer uses index nonces and matches the one-shot form', () => {
  const key = randomBytes(32);
  const s = segmentSealer(key);
  const pt = randomBytes(3000);
  const out = new Uint8Array(3016);
  assert.equal(s.sealInto(7, [pt.subarray(0, 1000), pt.subarray(1000)], out), 3016);
  assert.deepEqual(out, xchachaSeal(key, segmentNonce(7), pt));
  assert.deepEqual(s.open(7, out), pt);
  assert.throws(() => s.open(8, out), DecryptError);
});

test('segment sealer fills consecutive views (the data blocks of a segment) exactly as one buffer', () => {
  const key = randomBytes(32);
  const s = segmentSealer(key);
  const pt = randomBytes(3000);
  const whole = new Uint8Array(3016);
  s.sealInto(3, [pt], whole);
  const backing = new Uint8Array(3 * 1006).fill(0xee);
  const views = [0, 1, 2].map((i) => backing.subarray(i * 1006, (i + 1) * 1006));
  assert.equal(s.sealInto(3, [pt.subarray(0, 10), pt.subarray(10)], views), 3016);
  assert.deepEqual(backing.subarray(0, 3016), whole);
  assert.ok(backing.subarray(3016).every((b) => b === 0xee), 'bytes past the sealed length are left alone');
  assert.throws(() => s.sealInto(3, [pt], [new Uint8Array(1000), new Uint8Array(2000)]), RangeError);
});
