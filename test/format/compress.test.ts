// Chunk compression (format v2): auto mode keeps incompressible chunks raw and untouched, shrinks real text,
// round-trips, and every way a stored chunk can fail to decompress is a named error that allocates no more than
// the declared length.
import { mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import zlib from 'node:zlib';
import {
  compressAuto,
  compressAutoAsync,
  decompress,
  decompressAsync,
  COMPRESSION_RAW,
  COMPRESSION_ZSTD,
  COMPRESS_MIN_SAVING_DIVISOR,
  PROBE_MIN_BYTES,
  PROBE_SLICES,
  PROBE_SLICE_BYTES,
  releaseZstdContexts,
  worthCompressing,
  ZSTD_KEPT_IDLE_MS,
  zstdContextsKept,
  zstdCounts,
  isWholeFrame
} from '../../src/format/compress.ts';
import { DecompressError, DecompressedLengthError, InvalidParamsError, UnknownCompressionError } from '../../src/format/errors.ts';
import { realCorpus } from './corpus.ts';

const MiB = 1024 * 1024;
const HEADERS = realCorpus('/usr/include', 2 * MiB);
/** Byte equality without assert's diff (which takes minutes on megabytes when it fails). */
const same = (a: Uint8Array, b: Uint8Array) => assert.ok(Buffer.from(a.buffer, a.byteOffset, a.length).equals(b), `${a.length} bytes differ from ${b.length}`);

test('random data stays raw: method 0 and the very same bytes', async () => {
  for (const size of [1, 100, 64 * 1024, MiB, 3 * MiB + 1]) {
    const plain = randomBytes(size);
    const r = compressAuto(plain);
    assert.equal(r.method, COMPRESSION_RAW);
    assert.equal(r.bytes, plain);
    assert.equal((await compressAutoAsync(plain)).method, COMPRESSION_RAW);
    assert.equal(decompress(r.method, r.bytes, size), plain);
  }
  assert.deepEqual(compressAuto(new Uint8Array(0)), { method: COMPRESSION_RAW, bytes: new Uint8Array(0) });
});

test('real C headers shrink and round-trip (sync and on the thread pool)', async () => {
  assert.ok(HEADERS.length >= MiB, 'need /usr/include');
  const r = compressAuto(HEADERS);
  assert.equal(r.method, COMPRESSION_ZSTD);
  assert.ok(r.bytes.length < HEADERS.length / 2, `${HEADERS.length} -> ${r.bytes.length}`);
  same(decompress(r.method, r.bytes, HEADERS.length), HEADERS);
  const a = await compressAutoAsync(HEADERS, { level: 1 });
  assert.equal(a.method, COMPRESSION_ZSTD);
  same(await decompressAsync(a.method, a.bytes, HEADERS.length), HEADERS);
  // A higher level stores no more bytes than a lower one on real text.
  assert.ok(compressAuto(HEADERS, { level: 9 }).bytes.length <= a.bytes.length);
});

test('a chunk that shrinks by less than 1/32 stays raw; by more, zstd', () => {
  // Mix random bytes with a compressible run and find zstd's saving on either side of the threshold.
  const mixed = (runBytes: number) => Buffer.concat([randomBytes(MiB - runBytes), Buffer.alloc(runBytes, 'a')]);
  const under = mixed(Math.floor(MiB / COMPRESS_MIN_SAVING_DIVISOR / 2)); // saves about 1/64
  const over = mixed(Math.floor((MiB / COMPRESS_MIN_SAVING_DIVISOR) * 2)); // saves about 1/16
  assert.equal(compressAuto(under).method, COMPRESSION_RAW);
  assert.ok(zlib.zstdCompressSync(under).length < under.length, 'zstd did shrink it, a little');
  assert.equal(compressAuto(over).method, COMPRESSION_ZSTD);
});

test('a probe of a few slices spares incompressible chunks a whole zstd pass, and misses no compressible slice', () => {
  assert.equal(worthCompressing(randomBytes(PROBE_MIN_BYTES)), false, 'random data');
  assert.equal(worthCompressing(HEADERS), true, 'C headers');
  assert.equal(worthCompressing(randomBytes(PROBE_MIN_BYTES - 1)), true, 'below the probe size: zstd judges the whole chunk');
  // Each of the probe's slices alone makes a chunk worth compressing: one compressible slice out of four saves
  // far more than 1/32 of the probe. The slices are spread: first, evenly between, last.
  const size = 2 * MiB + 12345;
  const step = Math.floor((size - PROBE_SLICE_BYTES) / (PROBE_SLICES - 1));
  for (let i = 0; i < PROBE_SLICES; i++) {
    const chunk = randomBytes(size);
    chunk.fill(0x61, i * step, i * step + PROBE_SLICE_BYTES);
    assert.equal(worthCompressing(chunk), true, `slice ${i}`);
    if (i === PROBE_SLICES - 1) continue;
    // A compressible run between two slices is not seen (it is too small to matter to the whole chunk anyway).
    const between = randomBytes(size);
    between.fill(0x61, i * step + PROBE_SLICE_BYTES, i * step + PROBE_SLICE_BYTES + 4096);
    assert.equal(worthCompressing(between), false, `between slices ${i} and ${i + 1}`);
  }
  // compressAuto follows the probe: raw without a whole pass, the very same bytes.
  const media = randomBytes(MiB);
  assert.equal(compressAuto(media).bytes, media);
});

test('decompress errors: unknown method, bad stream, wrong length, bad expected length', async () => {
  const z = compressAuto(HEADERS);
  const n = HEADERS.length;
  for (const run of [decompress, decompressAsync] as const) {
    const call = async (m: number, b: Uint8Array, len: number) => run(m, b, len);
    await assert.rejects(call(2, z.bytes, n), (e: unknown) => e instanceof UnknownCompressionError && e.code === 'ERR_COMPRESSION_METHOD');
    await assert.rejects(call(-1, z.bytes, n), UnknownCompressionError);
    // Not a zstd frame at all.
    await assert.rejects(call(COMPRESSION_ZSTD, randomBytes(1000), n), (e: unknown) => e instanceof DecompressError && e.code === 'ERR_DECOMPRESS');
    // A frame that would need a bigger window than the declared length: refused before decoding.
    await assert.rejects(call(COMPRESSION_ZSTD, z.bytes, 1000), (e: unknown) => e instanceof DecompressError || e instanceof DecompressedLengthError);
    // Longer than declared: stopped at the declared length (maxOutputLength), never decoded further.
    await assert.rejects(
      call(COMPRESSION_ZSTD, z.bytes, n - 1),
      (e: unknown) => e instanceof DecompressedLengthError && e.code === 'ERR_DECOMPRESSED_LENGTH' && e.details.got === null
    );
    // Shorter than declared: a truncated frame decodes partly without a zstd error; the length check catches it.
    await assert.rejects(
      call(COMPRESSION_ZSTD, z.bytes.subarray(0, z.bytes.length >> 1), n),
      (e: unknown) => e instanceof DecompressedLengthError && typeof e.details.got === 'number' && (e.details.got as number) < n
    );
    await assert.rejects(call(COMPRESSION_ZSTD, z.bytes, n + 1), (e: unknown) => e instanceof DecompressedLengthError && e.details.got === n);
    await assert.rejects(call(COMPRESSION_ZSTD, new Uint8Array(0), n), DecompressedLengthError);
    // Raw chunks are checked too.
    await assert.rejects(call(COMPRESSION_RAW, HEADERS.subarray(1), n), (e: unknown) => e instanceof DecompressedLengthError && e.details.got === n - 1);
    for (const bad of [-1, 1.5, Number.NaN, 2 ** 40]) {
      await assert.rejects(call(COMPRESSION_ZSTD, z.bytes, bad), (e: unknown) => e instanceof InvalidParamsError && e.details.param === 'expectedLength');
    }
  }
  assert.throws(
    () => compressAuto(HEADERS, { level: 0 }),
    (e: unknown) => e instanceof InvalidParamsError && e.details.param === 'level'
  );
  assert.throws(() => compressAuto(HEADERS, { level: 23 }), InvalidParamsError);
});

test('a frame that declares a huge window is refused, however short the declared length', async () => {
  // Streamed with windowLog 27 and no pledged size, the frame asks for a 128 MiB window: zstd would allocate
  // that much to decode it. decompress() caps the window by the declared length (200,000 bytes: 2^18).
  const plain = Buffer.alloc(200_000, 'abc');
  const c = zlib.createZstdCompress({ params: { [zlib.constants.ZSTD_c_windowLog]: 27 } });
  const parts: Buffer[] = [];
  c.on('data', (d: Buffer) => parts.push(d));
  const ended = new Promise((resolve) => c.on('end', resolve));
  c.write(plain.subarray(0, 100_000));
  c.end(plain.subarray(100_000));
  await ended;
  const z = Buffer.concat(parts);
  assert.ok(zlib.zstdDecompressSync(z).equals(plain), 'a valid frame');
  assert.throws(
    () => decompress(COMPRESSION_ZSTD, z, plain.length),
    (e: unknown) => e instanceof DecompressError && /windowTooLarge/.test(String(e.details.reason))
  );
  // compressAuto's own frames decode under that cap at every size up to a chunk's largest.
  for (const size of [1000, 65_537, 1_000_003, 8 * MiB]) {
    const text = Buffer.alloc(size, HEADERS.subarray(0, 100_000));
    const r = compressAuto(text);
    assert.equal(r.method, COMPRESSION_ZSTD);
    assert.equal(decompress(r.method, r.bytes, size).length, size);
  }
});

test('kept zstd contexts: a frame after one given up over its limit is whole, and every frame is a buffer of its own', () => {
  releaseZstdContexts();
  const text = HEADERS.subarray(0, 300 * 1024);
  const first = compressAuto(text);
  assert.equal(first.method, COMPRESSION_ZSTD);
  assert.ok(zstdContextsKept() >= 1, 'compressAuto keeps its context');
  // Probed as compressible (its last slice is a run), then over the 1/32 limit as a whole: zstd stops mid-frame.
  const giveUp = Buffer.concat([randomBytes(MiB - 16 * 1024), Buffer.alloc(16 * 1024, 'a')]);
  assert.equal(worthCompressing(giveUp), true);
  assert.equal(compressAuto(giveUp).method, COMPRESSION_RAW);
  for (const size of [300, 5000, 64 * 1024, 200 * 1024]) {
    const plain = HEADERS.subarray(size, 2 * size);
    const r = compressAuto(plain);
    assert.equal(r.method, COMPRESSION_ZSTD, `${plain.length} bytes`);
    // Small inputs: the kept context writes what zstdCompressSync writes, byte for byte (window, content size).
    const windowLog = Math.max(10, Math.ceil(Math.log2(plain.length)));
    const ref = zlib.zstdCompressSync(plain, {
      params: { [zlib.constants.ZSTD_c_compressionLevel]: 3, [zlib.constants.ZSTD_c_windowLog]: windowLog },
      pledgedSrcSize: plain.length
    });
    same(r.bytes, ref);
    same(decompress(r.method, r.bytes, plain.length), plain);
  }
  // The first frame was not a view of a buffer the later ones reused.
  assert.equal(first.bytes.byteOffset, 0);
  assert.equal(first.bytes.buffer.byteLength, first.bytes.length);
  same(decompress(first.method, first.bytes, text.length), text);
});

test('kept zstd contexts: one per level, each level its own output; all let go once idle', () => {
  releaseZstdContexts();
  assert.equal(zstdContextsKept(), 0);
  mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  try {
    const l1 = compressAuto(HEADERS, { level: 1 });
    const l19 = compressAuto(HEADERS, { level: 19 });
    assert.ok(l19.bytes.length < l1.bytes.length, `level 19 ${l19.bytes.length} < level 1 ${l1.bytes.length}`);
    same(decompress(l1.method, l1.bytes, HEADERS.length), HEADERS);
    same(decompress(l19.method, l19.bytes, HEADERS.length), HEADERS);
    assert.equal(zstdContextsKept(), 3, 'two levels and the decoder');
    mock.timers.tick(ZSTD_KEPT_IDLE_MS / 2);
    compressAuto(HEADERS.subarray(0, 4096), { level: 1 }); // used again: the idle clock starts over
    mock.timers.tick(ZSTD_KEPT_IDLE_MS - 1);
    assert.equal(zstdContextsKept(), 3, 'still kept: used less than ZSTD_KEPT_IDLE_MS ago');
    mock.timers.tick(ZSTD_KEPT_IDLE_MS);
    assert.equal(zstdContextsKept(), 0, 'let go once idle');
    const again = compressAuto(HEADERS.subarray(0, 4096));
    same(decompress(again.method, again.bytes, 4096), HEADERS.subarray(0, 4096));
    assert.equal(zstdContextsKept(), 2);
  } finally {
    releaseZstdContexts();
    mock.timers.reset();
  }
});

test('isWholeFrame: every frame zstd finishes, with its content size; nothing cut short, padded, or of another size', () => {
  const C = zlib.constants;
  const inputs = [
    new Uint8Array(0),
    Buffer.from('a'),
    Buffer.alloc(300, 'x'), // one RLE block
    randomBytes(1000), // one raw block
    HEADERS.subarray(0, 200), // FCS in one byte (single segment)
    HEADERS.subarray(0, 70_000), // FCS in two bytes
    HEADERS, // FCS in four bytes, compressed blocks
    Buffer.concat([randomBytes(300 * 1024), HEADERS.subarray(0, 300 * 1024)]) // raw and compressed blocks
  ];
  for (const plain of inputs) {
    const windowLog = Math.max(10, Math.ceil(Math.log2(Math.max(1, plain.length))));
    for (const level of [1, 3]) {
      const f = zlib.zstdCompressSync(plain, { params: { [C.ZSTD_c_compressionLevel]: level, [C.ZSTD_c_windowLog]: windowLog }, pledgedSrcSize: plain.length });
      assert.equal(isWholeFrame(f, plain.length), true, `${plain.length} bytes at level ${level}`);
      assert.equal(isWholeFrame(f, plain.length + 1), false, 'another content size');
      assert.equal(isWholeFrame(f.subarray(0, f.length - 1), plain.length), false, 'cut short by one byte');
      assert.equal(isWholeFrame(Buffer.concat([f, Buffer.from([0])]), plain.length), false, 'a byte after the last block');
      const notLast = Buffer.from(f);
      notLast[f.length - lastBlockLength(f)] &= 0xfe; // the last block no longer says it is last
      assert.equal(isWholeFrame(notLast, plain.length), false, 'no last block');
    }
    const checked = zlib.zstdCompressSync(plain, { params: { [C.ZSTD_c_checksumFlag]: 1 }, pledgedSrcSize: plain.length });
    assert.equal(isWholeFrame(checked, plain.length), false, 'a checksum is not what the writer makes');
    const unsized = zlib.zstdCompressSync(plain, { params: { [C.ZSTD_c_contentSizeFlag]: 0 } });
    assert.equal(isWholeFrame(unsized, plain.length), false, 'no content size');
  }
  assert.equal(isWholeFrame(Buffer.from([0x28, 0xb5, 0x2f, 0xfe, 0x20, 0]), 0), false, 'not the zstd magic');
});

/** Bytes of a frame's last block, header included (walks the blocks as isWholeFrame does). */
function lastBlockLength(f: Uint8Array): number {
  const fhd = f[4];
  let at = 5 + ((fhd >> 5) & 1 ? 0 : 1) + [0, 1, 2, 4][fhd & 3] + [1, 2, 4, 8][fhd >> 6];
  for (;;) {
    const h = f[at] | (f[at + 1] << 8) | (f[at + 2] << 16);
    const next = at + 3 + (((h >> 1) & 3) === 1 ? 1 : h >>> 3);
    if (h & 1) return next - at;
    at = next;
  }
}

test('the kept decoder: exact-size output; a bad frame is the same named error as without it, and the next frame decodes', () => {
  releaseZstdContexts();
  const frames = [HEADERS.subarray(0, 5000), HEADERS.subarray(5000, 300_000), HEADERS].map((plain) => ({ plain, z: compressAuto(plain) }));
  for (const { plain, z } of frames) {
    assert.equal(z.method, COMPRESSION_ZSTD);
    const out = decompress(z.method, z.bytes, plain.length);
    same(out, plain);
    assert.equal(out.length, plain.length);
    assert.ok(out.buffer.byteLength <= plain.length + 1, 'a buffer of the declared size (and the byte that catches an overlong frame)');
  }
  assert.equal(zstdContextsKept(), 3, 'level 1 (the probe), level 3, and the decoder');
  const { plain, z } = frames[1];
  // Corrupt a byte inside the compressed blocks (the header stays valid): zstd's error, named as before.
  const corrupt = Buffer.from(z.bytes);
  corrupt[Math.floor(corrupt.length / 2)] ^= 0xff;
  assert.throws(
    () => decompress(COMPRESSION_ZSTD, corrupt, plain.length),
    (e: unknown) => e instanceof DecompressError || e instanceof DecompressedLengthError
  );
  // A frame cut inside a block: not whole, so not for the kept decoder; the length check names it.
  assert.throws(() => decompress(COMPRESSION_ZSTD, z.bytes.subarray(0, z.bytes.length - 10), plain.length), DecompressedLengthError);
  // A byte after the frame: not whole either; zstdDecompressSync ignores it, as it always did.
  same(decompress(COMPRESSION_ZSTD, Buffer.concat([z.bytes, Buffer.from([1])]), plain.length), plain);
  for (const f of frames) same(decompress(f.z.method, f.z.bytes, f.plain.length), f.plain);
  assert.equal(zstdContextsKept(), 3, 'a new decoder once the one that failed was let go');
  releaseZstdContexts();
});

test("decompress into the caller's memory: a view of it when it has a byte of room more, never when it has not", () => {
  const plain = HEADERS.subarray(0, 200_000);
  const z = compressAuto(plain);
  assert.equal(z.method, COMPRESSION_ZSTD);
  // Room for the output and more: written at the view's own offset, the rest of the memory untouched.
  const memory = new Uint8Array(plain.length + 100).fill(7);
  const into = memory.subarray(50);
  const out = decompress(z.method, z.bytes, plain.length, into);
  same(out, plain);
  assert.equal(out.buffer, memory.buffer);
  assert.equal(out.byteOffset, 50);
  assert.equal(out.length, plain.length);
  assert.ok(
    memory.subarray(0, 50).every((b) => b === 7),
    'nothing before the view is written'
  );
  assert.ok(
    memory.subarray(50 + plain.length + 1).every((b) => b === 7),
    'nothing after the byte of room is written'
  );
  // Exactly the output's size: no room for the byte that catches an overlong frame, so memory of its own.
  const tight = new Uint8Array(plain.length);
  const before = zstdCounts();
  const own = decompress(z.method, z.bytes, plain.length, tight);
  same(own, plain);
  assert.notEqual(own.buffer, tight.buffer);
  assert.equal(zstdCounts().keptDecoded, before.keptDecoded + 1, 'decoded by the kept decoder, into a buffer of its own');
  assert.equal(zstdCounts().oneShotDecoded, before.oneShotDecoded, 'not by the one-shot path after a failed try');
  // An overlong frame is still refused when the memory has room for it.
  assert.throws(() => decompress(z.method, z.bytes, plain.length - 1, new Uint8Array(plain.length + 10)), DecompressedLengthError);
  // Method 0 returns the bytes themselves, never the memory.
  const raw = randomBytes(1000);
  const r = decompress(COMPRESSION_RAW, raw, raw.length, new Uint8Array(2000));
  assert.equal(r, raw);
});

test('kept contexts do the work: chunks up to 16 MiB are made and decoded with them, larger ones one-shot', () => {
  const before = zstdCounts();
  const plains = [HEADERS.subarray(0, 3000), HEADERS.subarray(0, 400_000), HEADERS];
  const frames = plains.map((p) => compressAuto(p));
  for (const [i, f] of frames.entries()) same(decompress(f.method, f.bytes, plains[i].length), plains[i]);
  let after = zstdCounts();
  // Each chunk of 256 KiB or more is probed first: two frames for the two larger chunks, one for the smallest.
  assert.equal(after.kept - before.kept, 5);
  assert.equal(after.oneShot - before.oneShot, 0);
  assert.equal(after.keptDecoded - before.keptDecoded, 3);
  assert.equal(after.oneShotDecoded - before.oneShotDecoded, 0);
  // Over 16 MiB (what a kept context's window is set for): one-shot, both ways.
  const big = Buffer.concat(Array.from({ length: 9 }, () => HEADERS)).subarray(0, 16 * MiB + 1);
  const z = compressAuto(big);
  assert.equal(z.method, COMPRESSION_ZSTD);
  same(decompress(z.method, z.bytes, big.length), big);
  after = zstdCounts();
  assert.equal(after.oneShot - before.oneShot, 1);
  assert.equal(after.oneShotDecoded - before.oneShotDecoded, 1);
});

test('decompress refuses a frame whose window is over its cap, also when a kept decoder could read it', () => {
  // A real frame whose window descriptor (non-single-segment: 1 KiB window) is rewritten to claim 4 MiB: the data
  // still only reaches back 1 KiB, so any decoder allowing 4 MiB would decode it; the cap for 200,000 bytes is 2^18.
  const plain = Buffer.from('0123456789abcdef'.repeat(12_500));
  const f = Buffer.from(
    zlib.zstdCompressSync(plain, {
      params: { [zlib.constants.ZSTD_c_windowLog]: 10, [zlib.constants.ZSTD_c_compressionLevel]: 3 },
      pledgedSrcSize: plain.length
    })
  );
  assert.equal((f[4] >> 5) & 1, 0, 'not a single segment: the header has a window descriptor');
  assert.equal(isWholeFrame(f, plain.length), true);
  same(decompress(COMPRESSION_ZSTD, f, plain.length), plain);
  f[5] = 12 << 3; // 2^(10 + 12) = 4 MiB
  assert.equal(isWholeFrame(f, plain.length), true, 'still one whole frame');
  same(zlib.zstdDecompressSync(f), plain);
  assert.throws(() => decompress(COMPRESSION_ZSTD, f, plain.length), DecompressError);
  f[5] = 7 << 3; // 2^17 = 128 KiB: within the cap
  same(decompress(COMPRESSION_ZSTD, f, plain.length), plain);
  f[5] = (8 << 3) | 1; // 2^18 x 9/8: just over it
  assert.throws(() => decompress(COMPRESSION_ZSTD, f, plain.length), DecompressError);
});

test('isWholeFrame: each magic byte, a short header, the reserved bit, a dictionary id', () => {
  const plain = HEADERS.subarray(0, 5000);
  const f = zlib.zstdCompressSync(plain, { pledgedSrcSize: plain.length });
  assert.equal(isWholeFrame(f, plain.length), true);
  for (let i = 0; i < 4; i++) {
    const bad = Buffer.from(f);
    bad[i] ^= 1;
    assert.equal(isWholeFrame(bad, plain.length), false, `magic byte ${i}`);
  }
  assert.equal(isWholeFrame(f.subarray(0, 5), plain.length), false, 'five bytes');
  const reserved = Buffer.from(f);
  reserved[4] |= 0x08;
  assert.equal(isWholeFrame(reserved, plain.length), false, 'reserved bit');
  // A one-byte dictionary id inserted after the header descriptor (and window byte): still parsed to the end.
  const single = (f[4] >> 5) & 1;
  const at = 5 + (single ? 0 : 1);
  const withDict = Buffer.concat([f.subarray(0, 4), Buffer.from([f[4] | 1]), f.subarray(5, at), Buffer.from([7]), f.subarray(at)]);
  assert.equal(isWholeFrame(withDict, plain.length), true, 'a dictionary id is skipped');
  assert.equal(isWholeFrame(withDict.subarray(0, withDict.length - 1), plain.length), false);
});
