// Frozen vector: a fixed input and convergence secret must always give the same cap and the same share bytes,
// so the format cannot change silently. Regenerate deliberately with UPDATE_VECTORS=1 (and bump a version if it is a format change).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { encodeBytes, decodeBytes } from '../../src/format/index.ts';
import { formatCap, parseCap } from '../../src/caps/index.ts';
import { sha256 } from '../../src/crypto/index.ts';

const file = new URL('../vectors/format-v1.json', import.meta.url);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

async function compute() {
  const input = Uint8Array.from({ length: 5000 }, (_, i) => (i * 31 + 7) & 0xff);
  const secret = new Uint8Array(32).fill(0x5a);
  const r = await encodeBytes(input, { k: 3, n: 5, segmentSize: 1024, convergenceSecret: secret });
  const lit = await encodeBytes(input.subarray(0, 20), { k: 3, n: 5, convergenceSecret: secret });
  return {
    description: 'input[i] = (i*31+7) & 0xff for i < 5000; convergence secret = 32 bytes of 0x5a; k=3, n=5, segmentSize=1024. Literal: first 20 input bytes. Parity blocks depend on the codec generator matrix (UEB codec id 1) and every trailer lists all share roots, so every share hash and the cap depend on it; the block bytes of shares 0..2 do not. Regenerate with UPDATE_VECTORS=1 only on a deliberate format or codec change.',
    cap: formatCap(r.cap),
    verifyCap: formatCap(r.verifyCap!),
    storageIndex: hex(r.storageIndex!),
    shareSizes: r.shares.map((s) => s.length),
    shareSha256: r.shares.map((s) => hex(sha256(s))),
    literalCap: formatCap(lit.cap),
    _input: input,
    _shares: r.shares,
  };
}

test('frozen format vector: fixed input + secret -> fixed cap and share hashes', async () => {
  const { _input, _shares, ...got } = await compute();
  if (process.env.UPDATE_VECTORS) writeFileSync(file, JSON.stringify(got, null, 2) + '\n');
  assert.ok(existsSync(file), 'vector file missing: run with UPDATE_VECTORS=1');
  const want = JSON.parse(readFileSync(file, 'utf8'));
  assert.deepEqual(got, want);
  assert.deepEqual(await decodeBytes(parseCap(want.cap) as never, [null, _shares[1], _shares[2], null, _shares[4]]), _input);
});
