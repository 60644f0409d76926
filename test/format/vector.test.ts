// Frozen vector of format 2: fixed inputs and secret must always give the same bytes (a pack's cap, storage
// index and share hashes; a blob's id, key and sealed bytes under a fixed nonce; a chunk list, an index part,
// a tree, a snapshot and a head; the caps), so the format cannot change silently. Regenerate deliberately with
// UPDATE_VECTORS=1 (and bump a version if it is a format change).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { encodePack, decodeBytes } from '../../src/format/index.ts';
import { formatCap, parseCap, InvalidCapError } from '../../src/caps/index.ts';
import { sha256, blobKeys } from '../../src/crypto/index.ts';
import { sealBlob, openBlob, encodeChunkList, encodeIndexPart, repoReadCap } from '../../src/repo/index.ts';
import { encodeTree, encodeSnapshot, encodeHead, capOf, encodeRef } from '../../src/backup/index.ts';

const file = new URL('../vectors/format-v2.json', import.meta.url);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function compute() {
  const input = Uint8Array.from({ length: 5000 }, (_, i) => (i * 31 + 7) & 0xff);
  const secret = new Uint8Array(32).fill(0x5a);
  const nonce = new Uint8Array(24).fill(0x24);
  const pack = encodePack(input, { k: 3, n: 5, segmentSize: 1024 });
  const repo = repoReadCap(secret);
  const chunk = input.subarray(0, 3000);
  const keys = blobKeys(secret, 1, chunk);
  const sealedRaw = sealBlob('data', chunk, keys.key, { nonce, compress: false });
  const sealedZstd = sealBlob('data', new Uint8Array(3000).fill(7), keys.key, { nonce });
  const list = encodeChunkList([
    { ...keys, size: 3000 },
    { id: new Uint8Array(32).fill(1), key: new Uint8Array(32).fill(2), size: 2000 }
  ]);
  const part = encodeIndexPart([{ id: keys.id, kind: 'data', pack: pack.cap, offset: 0, length: sealedRaw.length }]);
  const fileRef = encodeRef({ kind: 'data', ...keys });
  const tree = encodeTree([
    { name: 'a.bin', type: 'file', mode: 0o644, mtimeNs: '1700000000000000000', size: 3000, ref: fileRef },
    { name: 'tiny', type: 'file', mode: 0o600, mtimeNs: '1700000000000000001', size: 4, lit: Buffer.from('tiny').toString('base64url') },
    { name: 'link', type: 'symlink', mode: 0o777, mtimeNs: '1700000000000000002', target: 'a.bin' }
  ]);
  const treeCap = capOf(repo, { kind: 'tree', id: new Uint8Array(32).fill(3), key: new Uint8Array(32).fill(4) });
  const snapshot = encodeSnapshot(
    { root: treeCap, time: 1700000000000, host: 'vector', paths: ['/v'], stats: { files: 2, dirs: 1, symlinks: 1, bytes: 3004 } },
    repo
  );
  const snapCap = capOf(repo, { kind: 'snapshot', id: new Uint8Array(32).fill(5), key: new Uint8Array(32).fill(6) });
  const head = encodeHead({ repo: formatCap(repo), snapshots: [{ cap: snapCap, time: 1700000000000 }] });
  return {
    description:
      'format 2. Pack: input[i] = (i*31+7) & 0xff for i < 5000, k=3, n=5, segmentSize=1024 (parity depends on the codec generator matrix, UEB codec id 1; every trailer lists all share roots). Owner secret: 32 bytes of 0x5a. Blob: the first 3000 input bytes as a data blob, sealed raw and (3000 bytes of 7) with zstd, nonce 24 bytes of 0x24. Chunk list, index part, tree, snapshot and head as built in test/format/vector.test.ts. Regenerate with UPDATE_VECTORS=1 only on a deliberate format change.',
    packCap: formatCap(pack.cap),
    storageIndex: hex(pack.storageIndex),
    shareSizes: pack.shares.map((s) => s.length),
    shareSha256: pack.shares.map((s) => hex(sha256(s))),
    repoCap: formatCap(repo),
    blobId: hex(keys.id),
    blobKey: hex(keys.key),
    blobCap: capOf(repo, { kind: 'data', ...keys }),
    sealedRawSha256: hex(sha256(sealedRaw)),
    sealedZstd: hex(sealedZstd),
    chunkList: hex(list),
    indexPart: hex(part),
    tree: Buffer.from(tree).toString('utf8'),
    snapshot: Buffer.from(snapshot).toString('utf8'),
    head: Buffer.from(head).toString('utf8'),
    _input: input,
    _shares: pack.shares,
    _chunk: chunk,
    _sealed: sealedRaw,
    _key: keys.key
  };
}

test('frozen format 2 vector: fixed inputs + secret -> fixed caps, pack shares, blobs and objects', async () => {
  const { _input, _shares, _chunk, _sealed, _key, ...got } = compute();
  if (process.env.UPDATE_VECTORS) writeFileSync(file, JSON.stringify(got, null, 2) + '\n');
  assert.ok(existsSync(file), 'vector file missing: run with UPDATE_VECTORS=1');
  const want = JSON.parse(readFileSync(file, 'utf8'));
  assert.deepEqual(got, want);
  assert.deepEqual(await decodeBytes(parseCap(want.packCap) as never, [null, _shares[1], _shares[2], null, _shares[4]]), _input);
  assert.deepEqual(openBlob('data', _sealed, _key), _chunk);
  assert.deepEqual(openBlob('data', Buffer.from(want.sealedZstd, 'hex'), _key), new Uint8Array(3000).fill(7));
});

test('caps of format 1 get a named error that says so', () => {
  for (const v1 of [
    'p2pb:chk:afgghnlxy6mzfk7zcjec2rl6zr6e5g5xze4hw3ob4puhozk5xeyuynaaahbjjv544rkaufyjz3ypjkivz5itpolmwzcwbuyxzsdue6s5amcqaaaaaaaaae4i:b4sjbqxo',
    'p2pb:lit:aedsmrleqormdyh7dy6vy642xhmpofrvkq:lfmv6wfx'
  ]) {
    assert.throws(
      () => parseCap(v1),
      (e: InvalidCapError) => e.code === 'ERR_CAP_FORMAT_V1'
    );
  }
  assert.throws(
    () =>
      parseCap('p2pb:chk:afgghnlxy6mzfk7zcjec2rl6zr6e5g5xze4hw3ob4puhozk5xeyuynaaahbjjv544rkaufyjz3ypjkivz5itpolmwzcwbuyxzsdue6s5amcqaaaaaaaaae4i:b4sjbqxo'),
    (e: InvalidCapError) => e.code === 'ERR_CAP_FORMAT_V1' && /format version 1/.test(e.message)
  );
});
