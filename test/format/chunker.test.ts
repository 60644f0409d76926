// Content-defined chunker (format v2): edits move only nearby boundaries on real files, bounds hold, streaming
// with any read sizes equals one-shot cutting, the key changes the boundaries, both kernels agree, params are
// checked, and a frozen vector pins the boundaries (regenerate deliberately with UPDATE_VECTORS=1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import {
  chunkStream,
  chunkWindow,
  windowBytes,
  createChunker,
  gearTable,
  CHUNK_MAX_SIZE,
  CHUNK_MIN_SIZE,
  CHUNKER_GEAR_TAG,
  type Chunker,
  type ChunkerParams
} from '../../src/format/chunker.ts';
import { InvalidParamsError } from '../../src/format/errors.ts';
import { realCorpus } from './corpus.ts';

const KEY = new Uint8Array(32).fill(0x42);
const SMALL: ChunkerParams = { minSize: 64, avgSize: 256, maxSize: 1024 };
// Ranges over 1 KiB go to the wasm loop (shorter ones to the TypeScript loop), over 64 KiB through several scratch copies.
const MEDIUM: ChunkerParams = { minSize: 4096, avgSize: 16384, maxSize: 128 * 1024 };
const MiB = 1024 * 1024;
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Chunk lengths of `data` by repeated cut() on the rest (the one-shot path). */
function lengths(c: Chunker, data: Uint8Array): number[] {
  const out: number[] = [];
  for (let o = 0; o < data.length;) {
    const n = c.cut(data.subarray(o), true);
    assert.ok(n > 0 && o + n <= data.length);
    out.push(n);
    o += n;
  }
  return out;
}

function hashes(c: Chunker, data: Uint8Array): string[] {
  let o = 0;
  return lengths(c, data).map((n) => sha(data.subarray(o, (o += n))));
}

async function collect(it: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const c of it) out.push(c);
  return out;
}

/** Yields `data` in reads whose sizes cycle through `sizes` (views, never copies). */
async function* reads(data: Uint8Array, sizes: number[]): AsyncGenerator<Uint8Array> {
  let i = 0;
  for (let o = 0; o < data.length; i++) {
    const n = Math.min(sizes[i % sizes.length], data.length - o);
    yield data.subarray(o, o + n);
    o += n;
  }
}

// A few tens of MiB of real files: about 30 chunks at the format's sizes.
const REAL = realCorpus('/usr/share', 32 * MiB);

function spliced(data: Uint8Array, at: number, remove: number, insert: Uint8Array): Uint8Array {
  const out = new Uint8Array(data.length - remove + insert.length);
  out.set(data.subarray(0, at));
  out.set(insert, at);
  out.set(data.subarray(at + remove), at + insert.length);
  return out;
}

test('real files: an insertion, a deletion and an overwrite in the middle change only the chunks around the edit', () => {
  assert.ok(REAL.length >= 16 * MiB, 'need /usr/share');
  const c = createChunker(KEY);
  const before = hashes(c, REAL);
  const old = new Set(before);
  const mid = REAL.length >> 1;
  const junk = Uint8Array.from({ length: 4096 }, (_, i) => (i * 151 + 17) & 0xff);
  const edits: [string, Uint8Array][] = [
    ['insert 1,000 bytes', spliced(REAL, mid, 0, junk.subarray(0, 1000))],
    ['delete 1,000 bytes', spliced(REAL, mid, 1000, new Uint8Array(0))],
    ['overwrite 4 KiB', spliced(REAL, mid, 4096, junk)]
  ];
  // An overwrite straddling a boundary changes both of its neighbours, and nothing else.
  const firstLens = lengths(c, REAL);
  const boundary = firstLens.slice(0, firstLens.length >> 1).reduce((a, b) => a + b, 0);
  edits.push(['overwrite 4 KiB across a boundary', spliced(REAL, boundary - 2048, 4096, junk)]);
  for (const [name, edited] of edits) {
    const after = hashes(c, edited);
    const added = after.filter((h) => !old.has(h)).length;
    const lost = before.filter((h) => !after.includes(h)).length;
    assert.ok(added >= 1 && added <= 3, `${name}: ${added} new chunks of ${after.length}`);
    assert.ok(lost >= 1 && lost <= 3, `${name}: ${lost} chunks gone of ${before.length}`);
    // Everything before the edit's chunk and after its neighbours is the same chunk for chunk.
    let same = 0;
    while (before[same] === after[same]) same++;
    let sameEnd = 0;
    while (before[before.length - 1 - sameEnd] === after[after.length - 1 - sameEnd]) sameEnd++;
    assert.ok(same + sameEnd >= before.length - 3, `${name}: only ${same} leading and ${sameEnd} trailing chunks unchanged of ${before.length}`);
  }
});

test('every chunk is within [min, max] except the last; random, real and constant data', () => {
  for (const params of [{}, SMALL]) {
    const c = createChunker(KEY, params);
    const { minSize, maxSize } = c.params;
    const zeros = new Uint8Array(params === SMALL ? 20_000 : 20 * MiB);
    const rnd = keystream('bounds', params === SMALL ? 200_000 : 24 * MiB);
    for (const data of [REAL.subarray(0, params === SMALL ? 300_000 : REAL.length), rnd, zeros]) {
      const ls = lengths(c, data);
      for (const n of ls.slice(0, -1)) assert.ok(n >= minSize && n <= maxSize, `chunk of ${n} outside [${minSize}, ${maxSize}]`);
      assert.ok(ls.at(-1)! <= maxSize);
      assert.equal(
        ls.reduce((a, b) => a + b, 0),
        data.length
      );
    }
    // A run of one byte value has one window hash: it is cut into equal chunks (at max with this key).
    const z = lengths(c, zeros).slice(0, -1);
    assert.ok(z.length >= 2 && z.every((n) => n === z[0]), `constant run cut into ${z}`);
  }
});

test('cut(): tiny, empty and undecided inputs', () => {
  const c = createChunker(KEY);
  assert.equal(c.cut(new Uint8Array(0), true), 0);
  assert.equal(c.cut(new Uint8Array(0), false), 0);
  assert.equal(c.cut(new Uint8Array(100), true), 100); // shorter than min: one chunk
  assert.equal(c.cut(new Uint8Array(100), false), 0); // more data needed
  assert.equal(c.cut(new Uint8Array(CHUNK_MIN_SIZE - 1), false), 0);
  // At max bytes a cut is always decided, final or not.
  const n = c.cut(new Uint8Array(CHUNK_MAX_SIZE), false);
  assert.ok(n >= CHUNK_MIN_SIZE && n <= CHUNK_MAX_SIZE);
  // A boundary found before the end of a non-final buffer is returned at once.
  const first = c.cut(REAL, true);
  assert.equal(c.cut(REAL.subarray(0, first + 10), false), first);
});

test('chunkStream: any read sizes (1 byte, odd, larger than max) give the one-shot chunks, in fresh buffers', async () => {
  const small = createChunker(KEY, SMALL);
  const data = REAL.subarray(0, 40_000);
  const want = lengths(small, data);
  for (const sizes of [[1], [3, 1, 7], [63, 64, 65, 1023, 1025], [40_000]]) {
    const got = await collect(chunkStream(reads(data, sizes), small));
    assert.deepEqual(
      got.map((b) => b.length),
      want,
      `read sizes ${sizes}`
    );
    assert.equal(sha(Buffer.concat(got)), sha(data)); // (a failing deepEqual on big buffers takes minutes to diff)
  }
  // Runs of small reads longer than 1,024 reads or 64 KiB inside one chunk are joined on the way.
  const medium = createChunker(KEY, MEDIUM);
  const mdata = Buffer.concat([REAL.subarray(0, 200_000), Buffer.alloc(150_000)]); // the zeros make a 128 KiB chunk
  const mwant = lengths(medium, mdata);
  assert.ok(Math.max(...mwant) > 64 * 1024);
  for (const sizes of [[1], [1, 3, 700], [700, 20_000, 5]]) {
    const got = await collect(chunkStream(reads(mdata, sizes), medium));
    assert.deepEqual(
      got.map((b) => b.length),
      mwant,
      `read sizes ${sizes}`
    );
    assert.equal(sha(Buffer.concat(got)), sha(mdata));
  }
  const c = createChunker(KEY);
  const big = REAL.subarray(0, 16 * MiB + 12345);
  const wantBig = lengths(c, big);
  for (const sizes of [[65_537, 1, 4093, MiB + 3, 17], [9 * MiB], [5, 100_003]]) {
    const got = await collect(chunkStream(reads(big, sizes), c));
    assert.deepEqual(
      got.map((b) => b.length),
      wantBig,
      `read sizes ${sizes}`
    );
    let o = 0;
    for (const g of got) {
      assert.equal(sha(g), sha(big.subarray(o, (o += g.length))));
      // The consumer owns each chunk: its own memory, not a view of the source or of another chunk.
      assert.ok(g.buffer !== big.buffer && g.byteOffset === 0 && g.buffer.byteLength === g.length);
    }
  }
  assert.deepEqual(await collect(chunkStream(reads(new Uint8Array(0), [1]), c)), []);
  const tiny = await collect(chunkStream(reads(data.subarray(0, 1000), [7]), c));
  assert.equal(tiny.length, 1);
  assert.equal(sha(tiny[0]), sha(data.subarray(0, 1000)));
});

/** A ReadInto over `data` whose reads return at most the sizes cycling through `sizes` (short reads, as files may give). */
function readInto(data: Uint8Array, sizes: number[]) {
  let o = 0,
    i = 0;
  const asked: number[] = [];
  const read = async (into: Uint8Array) => {
    asked.push(into.length);
    const n = Math.min(into.length, sizes[i++ % sizes.length], data.length - o);
    into.set(data.subarray(o, o + n));
    o += n;
    return n;
  };
  return { read, asked };
}

/** Copies of each chunk, taken before the next is asked for (a chunkWindow chunk is only lent until then). */
async function collectCopies(it: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const c of it) out.push(Uint8Array.from(c));
  return out;
}

test('chunkWindow: the one-shot chunks for any read sizes, as views of one window moved and read into again', async () => {
  for (const [params, data, sizeSets] of [
    [SMALL, REAL.subarray(0, 40_000), [[1], [3, 1, 7], [1023, 1025], [40_000]]],
    [MEDIUM, Buffer.concat([REAL.subarray(0, 200_000), Buffer.alloc(150_000)]), [[1, 3, 700], [700, 20_000, 5], [1 << 20]]],
    [undefined, REAL.subarray(0, 16 * MiB + 12345), [[65_537, 1, 4093, MiB + 3, 17], [9 * MiB]]]
  ] as const) {
    const c = createChunker(KEY, params);
    const want = lengths(c, data);
    for (const sizes of sizeSets) {
      for (const readBytes of [1, 1000, MiB]) {
        if (readBytes === 1 && data.length > 100_000) continue; // a read per byte of 16 MiB: slow, and [1] above covers it
        const window = new Uint8Array(windowBytes(c, readBytes));
        const { read, asked } = readInto(data, [...sizes]);
        const got: Uint8Array[] = [];
        for await (const chunk of chunkWindow(read, c, { window, readBytes })) {
          assert.equal(chunk.buffer, window.buffer, 'a view of the window, no copy');
          got.push(Uint8Array.from(chunk));
        }
        const what = `params ${JSON.stringify(params)} read sizes ${sizes} readBytes ${readBytes}`;
        assert.deepEqual(
          got.map((b) => b.length),
          want,
          what
        );
        assert.equal(sha(Buffer.concat(got)), sha(data), what);
        assert.ok(Math.max(...asked) <= readBytes, 'no read asks for more than readBytes');
      }
    }
  }
  // The window is read into again: a chunk kept past the next step no longer holds its bytes (it is lent).
  const c = createChunker(KEY, SMALL);
  const data = REAL.subarray(0, 40_000);
  const window = new Uint8Array(windowBytes(c, 100));
  const kept: Uint8Array[] = [];
  for await (const chunk of chunkWindow(readInto(data, [100]).read, c, { window, readBytes: 100 })) kept.push(chunk);
  const want = lengths(c, data);
  let o = 0;
  const intact = kept.filter((k, i) => sha(k) === sha(data.subarray(o, (o += want[i])))).length;
  assert.ok(intact < kept.length, `${intact} of ${kept.length} kept views still match`);
  // Empty input, input shorter than min.
  assert.deepEqual(await collectCopies(chunkWindow(readInto(new Uint8Array(0), [5]).read, c)), []);
  const tiny = await collectCopies(chunkWindow(readInto(data.subarray(0, 50), [7]).read, c));
  assert.deepEqual(
    tiny.map((t) => sha(t)),
    [sha(data.subarray(0, 50))]
  );
});

test('chunkWindow refuses a window too small for a chunk and a read, and a read that claims more than it was given', async () => {
  const c = createChunker(KEY, SMALL);
  const small = new Uint8Array(SMALL.maxSize + 99);
  await assert.rejects(collectCopies(chunkWindow(readInto(REAL, [100]).read, c, { window: small, readBytes: 100 })), InvalidParamsError);
  await assert.rejects(collectCopies(chunkWindow(readInto(REAL, [100]).read, c, { readBytes: 0 })), InvalidParamsError);
  for (const lie of [101, -1, 1.5, NaN]) {
    const read = async (into: Uint8Array) => (into.length === 100 ? lie : 0);
    await assert.rejects(collectCopies(chunkWindow(read, c, { readBytes: 100 })), InvalidParamsError, `read returned ${lie}`);
  }
  const ac = new AbortController();
  const it = chunkWindow(readInto(REAL, [MiB]).read, createChunker(KEY), { signal: ac.signal });
  await it.next();
  ac.abort();
  await assert.rejects(it.next(), { name: 'AbortError' });
});

test('chunkStream stops with the signal', async () => {
  const ac = new AbortController();
  const it = chunkStream(reads(REAL, [MiB]), createChunker(KEY), { signal: ac.signal });
  await it.next();
  ac.abort();
  await assert.rejects(it.next(), { name: 'AbortError' });
});

test('the key: another key gives other boundaries; the same key the same ones', () => {
  const a = lengths(createChunker(KEY), REAL);
  assert.deepEqual(lengths(createChunker(new Uint8Array(KEY)), REAL), a);
  const other = new Uint8Array(KEY);
  other[31] ^= 1;
  const b = lengths(createChunker(other), REAL);
  assert.notDeepEqual(b, a);
  // Not merely shifted: almost no boundary position is shared.
  const pos = (ls: number[]) => {
    let o = 0;
    return new Set(ls.slice(0, -1).map((n) => (o += n)));
  };
  const pa = pos(a);
  assert.ok([...pos(b)].filter((p) => pa.has(p)).length <= 2);
  assert.notDeepEqual(gearTable(other), gearTable(KEY));
});

test('the wasm and TypeScript kernels cut at the same places', () => {
  for (const params of [{}, MEDIUM, SMALL]) {
    const wasm = createChunker(KEY, params, { kernel: 'wasm' });
    const js = createChunker(KEY, params, { kernel: 'js' });
    assert.equal(wasm.kernel, 'wasm');
    assert.equal(js.kernel, 'js');
    const data = params === SMALL ? REAL.subarray(0, 2 * MiB) : REAL;
    assert.deepEqual(lengths(wasm, data), lengths(js, data));
  }
});

test('bad params, keys and kernels are named errors', () => {
  const bad: [Partial<ChunkerParams>, string][] = [
    [{ minSize: 32 }, 'minSize'],
    [{ minSize: 1.5 }, 'minSize'],
    [{ avgSize: 3 * MiB }, 'avgSize'],
    [{ avgSize: 256 * 1024 }, 'avgSize'],
    [{ maxSize: MiB }, 'maxSize'],
    [{ maxSize: 512 * MiB }, 'maxSize'],
    [{ avgSize: Number.NaN }, 'avgSize']
  ];
  for (const [params, param] of bad) {
    assert.throws(
      () => createChunker(KEY, params),
      (e: unknown) => e instanceof InvalidParamsError && e.code === 'ERR_INVALID_PARAMS' && e.details.param === param,
      JSON.stringify(params)
    );
  }
  assert.throws(
    () => createChunker(new Uint8Array(31)),
    (e: unknown) => e instanceof InvalidParamsError && e.details.param === 'key'
  );
  assert.throws(
    () => createChunker(KEY, {}, { kernel: 'gpu' as never }),
    (e: unknown) => e instanceof InvalidParamsError && e.details.param === 'kernel'
  );
});

/** The cut rule exactly as docs/FORMAT.md states it, one window hash computed from scratch per candidate length. */
function referenceLengths(key: Uint8Array, p: ChunkerParams, data: Uint8Array): number[] {
  const g = gearTable(key);
  const bits = Math.log2(p.avgSize);
  const normal = p.minSize + Math.floor((p.avgSize - p.minSize) / 2);
  const top = (b: number) => (0xffffffff << (32 - b)) >>> 0;
  const out: number[] = [];
  for (let start = 0; start < data.length;) {
    const c = data.subarray(start);
    let len = Math.min(c.length, p.maxSize);
    for (let L = p.minSize; L < Math.min(c.length + 1, p.maxSize); L++) {
      let h = 0;
      for (let j = 0; j < 32; j++) h = (h + ((g[c[L - 1 - j]] << j) >>> 0)) % 2 ** 32; // G * 2^j mod 2^32, summed mod 2^32
      if ((h & (L <= normal ? top(bits + 2) : top(bits - 2))) === 0) {
        len = L;
        break;
      }
    }
    out.push(len);
    start += len;
  }
  return out;
}

test('the kernels follow the documented cut rule (a from-scratch window hash per position)', () => {
  const small = Buffer.concat([REAL.subarray(0, 12_000), Buffer.alloc(2500, 7), keystream('rule', 6000)]);
  const medium = Buffer.concat([REAL.subarray(0, 200_000), Buffer.alloc(150_000, 7), keystream('rule', 100_000)]);
  for (const [params, data] of [
    [SMALL, small],
    [MEDIUM, medium]
  ] as const) {
    const want = referenceLengths(KEY, params, data);
    assert.ok(want.length > 10 && want.includes(params.maxSize), `${want}`);
    for (const kernel of ['js', 'wasm'] as const) assert.deepEqual(lengths(createChunker(KEY, params, { kernel }), data), want, kernel);
  }
});

// ---- Frozen vector ----

const vectorFile = new URL('../vectors/chunker-v2.json', import.meta.url);

type Part = { keystream: string; bytes: number } | { fill: number; bytes: number } | { text: string; bytes: number };

/** AES-256-CTR keystream: key = SHA-256(utf8(seed)), IV = 16 zero bytes; `bytes` long. */
function keystream(seed: string, bytes: number): Uint8Array {
  const key = createHash('sha256').update(seed, 'utf8').digest();
  return createCipheriv('aes-256-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(bytes));
}

function generate(parts: Part[]): Uint8Array {
  return Buffer.concat(
    parts.map((p) => {
      if ('keystream' in p) return keystream(p.keystream, p.bytes);
      if ('fill' in p) return Buffer.alloc(p.bytes, p.fill);
      const t = Buffer.from(p.text, 'utf8');
      return Buffer.alloc(p.bytes, t);
    })
  );
}

const VECTOR_CASES: { name: string; params: Partial<ChunkerParams>; input: Part[] }[] = [
  {
    name: 'format bounds',
    params: {},
    input: [
      { keystream: 'p2pb chunker vector 1', bytes: 20 * MiB },
      { fill: 0, bytes: 17 * MiB },
      { text: 'The quick brown fox jumps over the lazy dog. ', bytes: 3 * MiB + 1 },
      { keystream: 'p2pb chunker vector 2', bytes: 700 * 1024 }
    ]
  },
  {
    name: 'small bounds (every rule exercised many times)',
    params: SMALL,
    input: [
      { keystream: 'p2pb chunker vector 3', bytes: 65536 },
      { fill: 0xff, bytes: 3000 },
      { text: 'abc', bytes: 2000 },
      { keystream: 'p2pb chunker vector 4', bytes: 999 }
    ]
  }
];

function computeVector() {
  const table = gearTable(KEY);
  const tableBytes = Buffer.alloc(1024);
  table.forEach((v, i) => tableBytes.writeUInt32BE(v, 4 * i));
  return {
    description:
      'Format v2 chunker: gear table from the 32-byte key, then chunk lengths of generated inputs. ' +
      'Input parts: keystream = AES-256-CTR keystream with key SHA-256(utf8(seed)) and a zero IV; fill = a byte repeated; ' +
      'text = the UTF-8 text repeated and cut at `bytes`. gearTableSha256 = SHA-256 of the 256 entries as big-endian u32. ' +
      'Regenerate with UPDATE_VECTORS=1 only on a deliberate format change (it changes every chunk id of every owner).',
    gearTag: CHUNKER_GEAR_TAG,
    key: hex(KEY),
    gearTableFirst: Array.from(table.subarray(0, 4)),
    gearTableSha256: sha(tableBytes),
    cases: VECTOR_CASES.map((v) => {
      const input = generate(v.input);
      return {
        name: v.name,
        params: createChunker(KEY, v.params).params,
        input: v.input,
        inputSha256: sha(input),
        lengths: lengths(createChunker(KEY, v.params, { kernel: 'js' }), input)
      };
    })
  };
}

test('frozen chunker vector: fixed key and inputs -> fixed gear table and boundaries, both kernels and streaming', async () => {
  const got = computeVector();
  if (process.env.UPDATE_VECTORS) writeFileSync(vectorFile, JSON.stringify(got, null, 2) + '\n');
  assert.ok(existsSync(vectorFile), 'vector file missing: run with UPDATE_VECTORS=1');
  const want = JSON.parse(readFileSync(vectorFile, 'utf8'));
  assert.deepEqual(got, want);
  for (const v of want.cases) {
    const input = generate(v.input);
    assert.deepEqual(lengths(createChunker(KEY, v.params, { kernel: 'wasm' }), input), v.lengths);
    const streamed = await collect(chunkStream(reads(input, [MiB + 7, 333]), createChunker(KEY, v.params)));
    assert.deepEqual(
      streamed.map((b) => b.length),
      v.lengths
    );
  }
});
