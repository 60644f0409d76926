// Blobs, chunk lists, index parts and the repository record: every malformed or forged input is refused with a
// named error, and nothing unverified comes out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes as nodeRandom } from 'node:crypto';
import { toReadCap, createMutableWriteCap, formatCap, InvalidCapError } from '../../src/caps/index.ts';
import { encodePack } from '../../src/format/index.ts';
import {
  sealBlob,
  openBlob,
  encodeChunkList,
  decodeChunkList,
  ChunkListWriter,
  ChunkList,
  encodeIndexPart,
  decodeIndexPart,
  encodeRecord,
  decodeRecord,
  emptyRecord,
  BlobIntegrityError,
  BlobDecompressError,
  InvalidRepoDataError,
  BLOB_OVERHEAD_BYTES
} from '../../src/repo/index.ts';
import { BufferPool } from '../../src/common/buffer-pool.ts';

/** Plain Uint8Arrays (deepEqual tells a Buffer from one). */
const randomBytes = (n: number) => new Uint8Array(nodeRandom(n));
const key = randomBytes(32);
const code = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  assert.fail('expected an error');
};

test('sealed blobs open only with their key and kind; random data stays raw, text shrinks', () => {
  const random = randomBytes(100_000);
  const sealed = sealBlob('data', random, key);
  assert.equal(sealed.length, random.length + BLOB_OVERHEAD_BYTES, 'incompressible data is stored raw');
  assert.deepEqual(openBlob('data', sealed, key), random);
  const text = new TextEncoder().encode('#include <stdio.h>\n'.repeat(5000));
  const small = sealBlob('data', text, key);
  assert.ok(small.length < text.length / 10, `text compressed: ${small.length} of ${text.length}`);
  assert.deepEqual(openBlob('data', small, key), text);
  assert.notDeepEqual(sealBlob('data', text, key), small, 'a fresh nonce every time');
  assert.equal(
    code(() => openBlob('data', sealed, randomBytes(32))),
    'ERR_BLOB_INTEGRITY'
  );
  assert.equal(
    code(() => openBlob('tree', sealed, key)),
    'ERR_BLOB_INTEGRITY',
    'a data blob is not a tree'
  );
  for (const at of [0, 23, 24, 30, sealed.length - 1]) {
    const bad = Uint8Array.from(sealed);
    bad[at] ^= 1;
    assert.throws(() => openBlob('data', bad, key), BlobIntegrityError, `byte ${at}`);
  }
  assert.equal(
    code(() => openBlob('data', sealed.subarray(0, 40), key)),
    'ERR_BLOB_INTEGRITY'
  );
  assert.equal(
    code(() => openBlob('data', sealed, key, { maxPlain: random.length - 1 })),
    'ERR_BLOB_INTEGRITY',
    'longer than the caller allows'
  );
});

test('a sealed payload that lies about its length or does not decompress is refused (the sealer is honest: forge one)', async () => {
  // Forge blobs with the blob layout by hand (nonce, AEAD over method | plainLen | data): what a buggy or hostile
  // writer holding the key could produce.
  const { deriveSubkey, sealStream } = await import('../../src/crypto/index.ts');
  const forge = (method: number, plainLen: number, data: Uint8Array) => {
    const nonce = randomBytes(24);
    const header = new Uint8Array(5);
    header[0] = method;
    new DataView(header.buffer).setUint32(1, plainLen);
    const parts: Uint8Array[] = [nonce];
    const aad = new Uint8Array([...new TextEncoder().encode('p2pb:v2:blob'), 1]);
    const tag = sealStream(deriveSubkey(key, nonce.subarray(0, 16)), nonce.subarray(16), [header, data], (c) => parts.push(new Uint8Array(c)), aad);
    parts.push(tag);
    return new Uint8Array(Buffer.concat(parts));
  };
  assert.equal(
    code(() => openBlob('data', forge(0, 10, randomBytes(11)), key)),
    'ERR_BLOB_DECOMPRESS',
    'raw of the wrong length'
  );
  assert.equal(
    code(() => openBlob('data', forge(1, 100, randomBytes(50)), key)),
    'ERR_BLOB_DECOMPRESS',
    'not a zstd frame'
  );
  assert.equal(
    code(() => openBlob('data', forge(7, 10, randomBytes(10)), key)),
    'ERR_BLOB_DECOMPRESS',
    'unknown method'
  );
  const { zstdCompressSync } = await import('node:zlib');
  const z = new Uint8Array(zstdCompressSync(Buffer.alloc(1000, 7)));
  assert.equal(
    code(() => openBlob('data', forge(1, 999, z), key)),
    'ERR_BLOB_DECOMPRESS',
    'decompresses longer than declared'
  );
  assert.deepEqual(openBlob('data', forge(1, 1000, z), key), new Uint8Array(1000).fill(7));
  // Opened with a pool, a blob that does not decompress gives back all it took: its payload and the memory its
  // plaintext would have been decoded into (kept buffers are handed out again, none is lost to the collector).
  const pool = new BufferPool({ maxBytes: 4 << 20, idleMs: 60_000, unit: 64 << 10 });
  pool.give(pool.take(1));
  pool.give(pool.take(1 << 20)); // kept: a small and a large buffer
  const held = pool.bytesHeld;
  for (const bad of [forge(1, 100, randomBytes(50)), forge(1, 999, z)]) {
    assert.equal(
      code(() => openBlob('data', bad, key, { pool })),
      'ERR_BLOB_DECOMPRESS'
    );
    assert.equal(pool.bytesHeld, held, 'both buffers back in the pool');
  }
});

test("opened with a pool, a compressed blob decodes into the pool's memory; a raw one is a view of its pooled payload", () => {
  const pool = new BufferPool({ maxBytes: 4 << 20, idleMs: 60_000, unit: 64 << 10 });
  const text = new TextEncoder().encode('a line of text that repeats\n'.repeat(5000));
  const sealed = sealBlob('data', text, key);
  assert.ok(sealed.length < text.length / 4, 'compressed');
  const plain = openBlob('data', sealed, key, { pool });
  assert.deepEqual(plain, text);
  assert.equal(pool.buffersHeld, 1, 'the payload went back at once');
  pool.give(plain);
  assert.equal(pool.buffersHeld, 2, "the plaintext's buffer is the pool's: given back, it is kept");
  const allocated = pool.allocated;
  const again = openBlob('data', sealed, key, { pool });
  assert.deepEqual(again, text);
  assert.equal(pool.allocated, allocated, 'opened again from the kept buffers: nothing allocated');
  assert.equal(again.buffer, plain.buffer);
  pool.give(again);
  // A raw blob: its plaintext is its payload, in pooled memory.
  const random = randomBytes(70_000);
  const r = openBlob('data', sealBlob('data', random, key), key, { pool });
  assert.deepEqual(r, random);
  assert.equal(pool.allocated, allocated, 'a kept buffer served it');
  // A blob that fails to open gives back what it took.
  const held = pool.bytesHeld;
  const bad = sealBlob('data', text, key);
  bad[bad.length - 1] ^= 1;
  assert.equal(
    code(() => openBlob('data', bad, key, { pool })),
    'ERR_BLOB_INTEGRITY'
  );
  assert.equal(pool.bytesHeld, held);
});

test('chunk lists check their length, empty chunks and the file size', () => {
  const chunks = [
    { id: randomBytes(32), key: randomBytes(32), size: 3 },
    { id: randomBytes(32), key: randomBytes(32), size: 5 }
  ];
  const b = encodeChunkList(chunks);
  assert.deepEqual(decodeChunkList(b, 8), chunks);
  assert.throws(() => decodeChunkList(b, 9), InvalidRepoDataError);
  assert.throws(() => decodeChunkList(b.subarray(0, b.length - 1), 8), /length/);
  const zero = encodeChunkList([{ ...chunks[0], size: 0 }]);
  assert.throws(() => decodeChunkList(zero, 0), /empty/);
  const bad = Uint8Array.from(b);
  bad[0] = 0;
  assert.throws(() => decodeChunkList(bad, 8), { code: 'ERR_REPO_BAD_DATA', message: 'chunk list is malformed: bad magic' });
  for (const at of [4, 5, 7]) {
    const other = Uint8Array.from(b);
    other[at] ^= 1;
    assert.throws(() => decodeChunkList(other, 8), /unknown version/, `byte ${at}`);
  }
});

test('a chunk list written chunk by chunk decodes to its chunks in order, across every growth of its buffer', () => {
  for (const n of [0, 1, 2, 3, 64, 65, 300]) {
    const chunks = Array.from({ length: n }, (_, i) => ({ id: randomBytes(32), key: randomBytes(32), size: 1 + i * 977 }));
    for (const w of [new ChunkListWriter(1), new ChunkListWriter()]) {
      for (const c of chunks) w.push(c);
      assert.equal(w.count, n);
      const b = w.encode();
      assert.equal(b.length, 12 + 68 * n);
      assert.deepEqual(
        decodeChunkList(
          b,
          chunks.reduce((s, c) => s + c.size, 0)
        ),
        chunks
      );
      assert.deepEqual(b, encodeChunkList(chunks));
      chunks.forEach((c, i) => assert.deepEqual(w.at(i), c));
      assert.throws(() => w.at(n), { name: 'RangeError', message: `chunk ${n} of ${n}` });
      assert.throws(() => w.at(-1), RangeError);
    }
  }
  // Written on after encode(): the encoded list is a copy, not a view that later chunks change.
  const w = new ChunkListWriter(1);
  const first = { id: randomBytes(32), key: randomBytes(32), size: 7 };
  w.push(first);
  const one = w.encode();
  w.push({ id: randomBytes(32), key: randomBytes(32), size: 9 });
  assert.deepEqual(decodeChunkList(one, 7), [first]);
  assert.deepEqual(w.at(0), first);
  assert.throws(() => w.push({ id: randomBytes(31), key: randomBytes(32), size: 1 }), {
    name: 'RangeError',
    message: 'chunk reference of 31/32 bytes, not 32/32'
  });
  assert.throws(() => w.push({ id: randomBytes(32), key: randomBytes(33), size: 1 }), RangeError);
  assert.equal(w.count, 2);
});

test('a chunk list read in place gives each chunk as decodeChunkList does, its lengths unsigned, and checks the whole list once', () => {
  const chunks = [
    { id: randomBytes(32), key: randomBytes(32), size: 0xffffffff },
    { id: randomBytes(32), key: randomBytes(32), size: 0x80000000 },
    { id: randomBytes(32), key: randomBytes(32), size: 1 }
  ];
  const b = encodeChunkList(chunks);
  const total = 0xffffffff + 0x80000000 + 1;
  const list = ChunkList.decode(b, total);
  assert.equal(list.count, 3);
  assert.equal(list.total, total);
  chunks.forEach((c, i) => {
    assert.deepEqual(list.at(i), c);
    assert.equal(list.sizeAt(i), c.size);
  });
  assert.deepEqual(decodeChunkList(b, total), chunks);
  for (const i of [3, -1, 0.5]) {
    assert.throws(() => list.at(i), { name: 'RangeError', message: `chunk ${i} of 3` });
    assert.throws(() => list.sizeAt(i), { name: 'RangeError', message: `chunk ${i} of 3` });
  }
  // Its chunks are copies: changing one does not change the list.
  list.at(0).id.fill(0);
  assert.deepEqual(list.at(0), chunks[0]);
  assert.throws(() => ChunkList.decode(b, total - 1), /sum to/);
  assert.equal(ChunkList.decode(encodeChunkList([])).count, 0);
});

test('index parts: a pack range, a pack number or a kind out of bounds refuses the whole part', () => {
  const pack = encodePack(randomBytes(5000), { k: 2, n: 3 }).cap;
  const entry = { id: randomBytes(32), kind: 'data' as const, pack, offset: 100, length: 200 };
  const b = encodeIndexPart([entry]);
  assert.deepEqual(decodeIndexPart(b), [entry]);
  const at = 16 + 42; // the first entry
  const mutate = (f: (dv: DataView, u: Uint8Array) => void) => {
    const u = Uint8Array.from(b);
    f(new DataView(u.buffer), u);
    return u;
  };
  assert.equal(
    code(() => decodeIndexPart(mutate((dv) => dv.setUint32(at + 32, 1)))),
    'ERR_REPO_BAD_DATA',
    'pack 1 of 1'
  );
  assert.equal(
    code(() => decodeIndexPart(mutate((dv) => dv.setUint32(at + 36, 4900)))),
    'ERR_REPO_BAD_DATA',
    'range past the pack'
  );
  assert.equal(
    code(() => decodeIndexPart(mutate((dv) => dv.setUint32(at + 40, 10)))),
    'ERR_REPO_BAD_DATA',
    'shorter than a blob can be'
  );
  assert.equal(
    code(() =>
      decodeIndexPart(
        mutate((_, u) => {
          u[at + 44] = 9;
        })
      )
    ),
    'ERR_REPO_BAD_DATA',
    'unknown kind'
  );
  assert.equal(
    code(() => decodeIndexPart(mutate((dv) => dv.setUint32(12, 2)))),
    'ERR_REPO_BAD_DATA',
    'count past the end'
  );
  assert.equal(
    code(() => decodeIndexPart(b.subarray(0, 10))),
    'ERR_REPO_BAD_DATA'
  );
});

test('index parts list each pack once, whichever object names it, and each entry keeps its own pack', () => {
  const caps = [5000, 7000, 9000].map((n) => encodePack(randomBytes(n), { k: 2, n: 3 }).cap);
  // Equal packs as distinct objects (as the local index decodes them, one per entry), and packs that differ only in
  // size or in k / n: a part tells apart what it stores of a pack, and nothing else.
  const same = { ...caps[0], uebHash: Uint8Array.from(caps[0].uebHash) };
  const otherSize = { ...caps[1], size: caps[1].size + 1 };
  const otherN = { ...caps[2], n: 4 };
  const packs = [caps[0], caps[1], same, caps[2], otherSize, otherN, caps[1]];
  const entries = packs.map((pack, i) => ({ id: randomBytes(32), kind: 'data' as const, pack, offset: 10 * i, length: 100 }));
  const b = encodeIndexPart(entries);
  assert.equal(new DataView(b.buffer).getUint32(8), 5, 'five distinct packs');
  assert.equal(b.length, 16 + 5 * 42 + entries.length * 45);
  const back = decodeIndexPart(b);
  assert.deepEqual(
    back.map((e) => e.pack),
    entries.map((e) => ({ ...e.pack, uebHash: Uint8Array.from(e.pack.uebHash) }))
  );
  assert.deepEqual(
    entries.map((_, i) => new DataView(b.buffer).getUint32(16 + 5 * 42 + i * 45 + 32)),
    [0, 1, 0, 2, 3, 4, 1],
    'packs numbered in order of first use'
  );
  // A pack its decoder would refuse (k of 0, a short hash) is refused here too: no such part is ever stored.
  for (const bad of [
    { ...caps[0], k: 0 },
    { ...caps[0], n: 1 },
    { ...caps[0], uebHash: caps[0].uebHash.subarray(1) }
  ])
    assert.throws(() => encodeIndexPart([entries[0], { ...entries[1], pack: bad }]), InvalidCapError);
});

test('repository records round-trip and refuse malformed fields', () => {
  const pack = encodePack(randomBytes(5000), { k: 2, n: 3 }).cap;
  const r = {
    ...emptyRecord(),
    generation: 3,
    index: [{ pack, offset: 0, length: 100, id: randomBytes(32), key: randomBytes(32) }],
    folders: [formatCap(toReadCap(createMutableWriteCap()))],
    locks: [{ kind: 'backup' as const, holder: 'h/1', until: 5 }],
    garbage: [pack]
  };
  assert.deepEqual(decodeRecord(encodeRecord(r)), r);
  const json = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));
  const base = JSON.parse(Buffer.from(encodeRecord(r)).toString());
  for (const [what, o] of [
    ['version', { ...base, v: 1 }],
    ['generation', { ...base, generation: -1 }],
    ['index range', { ...base, index: [{ ...base.index[0], offset: 4990, length: 100 }] }],
    ['index key', { ...base, index: [{ ...base.index[0], key: 'zz' }] }],
    ['folder cap', { ...base, folders: ['p2pb:nope'] }],
    ['folder kind', { ...base, folders: [formatCap(pack)] }],
    ['lock kind', { ...base, locks: [{ kind: 'x', holder: 'h', until: 1 }] }],
    ['garbage', { ...base, garbage: [base.folders[0]] }]
  ] as const)
    assert.throws(() => decodeRecord(json(o)), InvalidRepoDataError, what);
  assert.throws(() => decodeRecord(new Uint8Array([0xff])), InvalidRepoDataError);
});
