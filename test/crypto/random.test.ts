// Nonces from the pool (src/crypto/random.ts randomNonce): each byte of CSPRNG output handed out once, in a buffer
// of the caller's own, whatever the pool's refills.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NONCE_POOL_BYTES, nonceStats, randomNonce } from '../../src/crypto/random.ts';
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

test('randomNonce: the pool is refilled only when the next nonce does not fit, and serves sizes up to 1/8 of it', () => {
  // To a known point: nonces of 1/8 of the pool until one refills it (at most 9), which leaves 7/8 of it.
  const start = nonceStats().refills;
  for (const v of Object.values(nonceStats())) assert.ok(Number.isInteger(v) && v >= 0);
  for (let i = 0; i < 9 && nonceStats().refills === start; i++) randomNonce(NONCE_POOL_BYTES / 8);
  const r0 = nonceStats().refills;
  assert.equal(r0, start + 1);
  // A refill just happened for a nonce of pool/8 bytes: 7 more fit, the next refills.
  for (let i = 0; i < 7; i++) randomNonce(NONCE_POOL_BYTES / 8);
  assert.equal(nonceStats().refills, r0, 'the pool holds exactly 8 nonces of 1/8 of it');
  randomNonce(16);
  assert.equal(nonceStats().refills, r0 + 1);
  for (let i = 1; i < NONCE_POOL_BYTES / 16; i++) randomNonce(16); // fills the pool exactly
  assert.equal(nonceStats().refills, r0 + 1);
  randomNonce(1);
  assert.equal(nonceStats().refills, r0 + 2);
  // 1/8 of the pool is the largest pooled size; one byte more is drawn directly.
  const s = nonceStats();
  assert.equal(randomNonce(NONCE_POOL_BYTES / 8).length, NONCE_POOL_BYTES / 8);
  assert.equal(nonceStats().pooled, s.pooled + 1);
  assert.equal(randomNonce(NONCE_POOL_BYTES / 8 + 1).length, NONCE_POOL_BYTES / 8 + 1);
  assert.equal(nonceStats().direct, s.direct + 1);
  assert.equal(nonceStats().pooled, s.pooled + 1);
});

test('randomNonce: large sizes are drawn directly, 0 gives nothing, a bad size is a RangeError', () => {
  assert.equal(randomNonce(NONCE_POOL_BYTES).length, NONCE_POOL_BYTES);
  assert.equal(randomNonce(NONCE_POOL_BYTES / 8 + 1).length, NONCE_POOL_BYTES / 8 + 1);
  assert.equal(randomNonce(0).length, 0);
  for (const bad of [-1, 1.5, Number.NaN]) assert.throws(() => randomNonce(bad), { name: 'RangeError', message: new RegExp(`a nonce of ${bad} bytes`) });
});

test('sealBlob: the same plaintext under the same key gets a new nonce each time', () => {
  const key = new Uint8Array(32).fill(7);
  const plain = new TextEncoder().encode('same bytes');
  const nonces = new Set<string>();
  for (let i = 0; i < 300; i++) nonces.add(Buffer.from(sealBlob('data', plain, key).subarray(0, BLOB_NONCE_BYTES)).toString('hex'));
  assert.equal(nonces.size, 300);
});
