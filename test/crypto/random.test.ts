// Nonces from the pool (src/crypto/random.ts randomNonce): each byte of CSPRNG output handed out once, in a buffer
// of the caller's own, whatever the pool's refills.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NONCE_POOL_BYTES, randomNonce } from '../../src/crypto/random.ts';
import { sealBlob } from '../../src/repo/blob.ts';
import { BLOB_NONCE_BYTES } from '../../src/repo/constants.ts';

test('randomNonce: across several refills of the pool, no nonce repeats and each has the length asked for', () => {
  const seen = new Set<string>();
  const count = Math.ceil((4 * NONCE_POOL_BYTES) / 24) + 7; // four refills and a bit, ending mid-pool
  for (let i = 0; i < count; i++) {
    const n = randomNonce(24);
    assert.equal(n.length, 24);
    seen.add(Buffer.from(n).toString('hex'));
  }
  assert.equal(seen.size, count);
});

test('randomNonce: sizes that do not divide the pool still come whole; each result is memory of its own', () => {
  const a = randomNonce(13);
  const before = Buffer.from(a).toString('hex');
  const b = randomNonce(13);
  a.fill(0);
  assert.equal(b.length, 13);
  assert.notEqual(Buffer.from(b).toString('hex'), '00'.repeat(13), 'writing one nonce must not change another');
  assert.notEqual(before, Buffer.from(b).toString('hex'));
  // The result owns its whole buffer: it is not a view into the pool.
  assert.equal(a.byteOffset, 0);
  assert.equal(a.buffer.byteLength, 13);
  for (let i = 0; i < 2 * NONCE_POOL_BYTES; i += 37) assert.equal(randomNonce(37).length, 37);
});

test('randomNonce: large sizes are drawn directly, 0 gives nothing, a bad size is a RangeError', () => {
  assert.equal(randomNonce(NONCE_POOL_BYTES).length, NONCE_POOL_BYTES);
  assert.equal(randomNonce(NONCE_POOL_BYTES / 8 + 1).length, NONCE_POOL_BYTES / 8 + 1);
  assert.equal(randomNonce(0).length, 0);
  for (const bad of [-1, 1.5, Number.NaN]) assert.throws(() => randomNonce(bad), RangeError);
});

test('sealBlob: the same plaintext under the same key gets a new nonce each time', () => {
  const key = new Uint8Array(32).fill(7);
  const plain = new TextEncoder().encode('same bytes');
  const nonces = new Set<string>();
  for (let i = 0; i < 300; i++) nonces.add(Buffer.from(sealBlob('data', plain, key).subarray(0, BLOB_NONCE_BYTES)).toString('hex'));
  assert.equal(nonces.size, 300);
});
