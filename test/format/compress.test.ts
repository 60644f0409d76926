// Chunk compression (format v2): auto mode keeps incompressible chunks raw and untouched, shrinks real text,
// round-trips, and every way a stored chunk can fail to decompress is a named error that allocates no more than
// the declared length.
import { test } from 'node:test';
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
  worthCompressing
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
