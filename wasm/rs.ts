// Reed-Solomon GF(2^8) kernel (polynomial 0x11D), compiled by AssemblyScript into two variants:
// plain SIMD (i8x16.swizzle) and relaxed SIMD (i8x16.relaxed_swizzle), selected at compile time by
// ASC_FEATURE_RELAXED_SIMD. Multiplication by a constant c uses split-nibble tables:
// c*x = LO[c][x & 15] ^ HI[c][x >> 4], each table 16 bytes, all 256 coefficients precomputed (8 KiB).
// The matrix product (matMul) codes up to 4 output rows per pass over the inputs, with v128 accumulators.
// The kernel never allocates: the JS side owns every byte above heapBase() and passes pointers. The -shared
// builds import a shared memory instead (parallel codec); threads may run disjoint column ranges at once.

// 256 coefficients x (16-byte low table + 16-byte high table).
const TABLES: usize = memory.data(256 * 32, 16);

function gfMulSlow(a: u32, b: u32): u32 {
  let r: u32 = 0;
  while (b != 0) {
    if (b & 1) r ^= a;
    a <<= 1;
    if (a & 0x100) a ^= 0x11d;
    b >>= 1;
  }
  return r & 0xff;
}

// Top-level code runs from the exported start function `_initialize`.
for (let c: u32 = 0; c < 256; c++) {
  const t = TABLES + (<usize>c << 5);
  for (let n: u32 = 0; n < 16; n++) {
    store<u8>(t + n, <u8>gfMulSlow(c, n));
    store<u8>(t + 16 + n, <u8>gfMulSlow(c, n << 4));
  }
}

/** First byte the JS side may use (16-byte aligned). */
export function heapBase(): usize {
  return (__heap_base + 15) & ~<usize>15;
}

/** Address of the 8 KiB nibble table block (for tests). */
export function tables(): usize {
  return TABLES;
}

// @ts-ignore: decorator
@inline
function shuffle(t: v128, idx: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) {
    return i8x16.relaxed_swizzle(t, idx);
  } else {
    return i8x16.swizzle(t, idx);
  }
}

// @ts-ignore: decorator
@inline
function mulVec(lo: v128, hi: v128, mask: v128, x: v128): v128 {
  return v128.xor(shuffle(lo, v128.and(x, mask)), shuffle(hi, i8x16.shr_u(x, 4)));
}

// @ts-ignore: decorator
@inline
function mulByte(t: usize, x: u32): u8 {
  return load<u8>(t + (x & 15)) ^ load<u8>(t + 16 + (x >> 4));
}

/** dst[0..len) (^)= c * src[0..len); `add` selects xor-accumulate (1) or overwrite (0). */
// @ts-ignore: decorator
@inline
function mulRegion(c: u32, src: usize, dst: usize, len: usize, add: bool): void {
  const t = TABLES + (<usize>(c & 0xff) << 5);
  const lo = v128.load(t);
  const hi = v128.load(t, 16);
  const mask = i8x16.splat(0x0f);
  let i: usize = 0;
  const end64 = len & ~<usize>63;
  if (add) {
    for (; i < end64; i += 64) {
      const s = src + i;
      const d = dst + i;
      v128.store(d, v128.xor(v128.load(d), mulVec(lo, hi, mask, v128.load(s))));
      v128.store(d, v128.xor(v128.load(d, 16), mulVec(lo, hi, mask, v128.load(s, 16))), 16);
      v128.store(d, v128.xor(v128.load(d, 32), mulVec(lo, hi, mask, v128.load(s, 32))), 32);
      v128.store(d, v128.xor(v128.load(d, 48), mulVec(lo, hi, mask, v128.load(s, 48))), 48);
    }
    const end16 = len & ~<usize>15;
    for (; i < end16; i += 16) {
      v128.store(dst + i, v128.xor(v128.load(dst + i), mulVec(lo, hi, mask, v128.load(src + i))));
    }
    for (; i < len; i++) {
      store<u8>(dst + i, load<u8>(dst + i) ^ mulByte(t, load<u8>(src + i)));
    }
  } else {
    for (; i < end64; i += 64) {
      const s = src + i;
      const d = dst + i;
      v128.store(d, mulVec(lo, hi, mask, v128.load(s)));
      v128.store(d, mulVec(lo, hi, mask, v128.load(s, 16)), 16);
      v128.store(d, mulVec(lo, hi, mask, v128.load(s, 32)), 32);
      v128.store(d, mulVec(lo, hi, mask, v128.load(s, 48)), 48);
    }
    const end16 = len & ~<usize>15;
    for (; i < end16; i += 16) {
      v128.store(dst + i, mulVec(lo, hi, mask, v128.load(src + i)));
    }
    for (; i < len; i++) {
      store<u8>(dst + i, mulByte(t, load<u8>(src + i)));
    }
  }
}

/** dst ^= c * src over len bytes (any length). */
export function mulAdd(c: u32, src: usize, dst: usize, len: usize): void {
  mulRegion(c, src, dst, len, true);
}

/** dst = c * src over len bytes (any length). */
export function mulSet(c: u32, src: usize, dst: usize, len: usize): void {
  mulRegion(c, src, dst, len, false);
}

// @ts-ignore: decorator
@inline
function tbl(t: usize, o: usize): v128 {
  return v128.load(t + o);
}

/**
 * R output rows (1..4) at once over columns [off, off + n), n a multiple of 32: for every 32-byte column
 * block, each input vector is loaded and split into nibbles once and multiplied into R pairs of v128
 * accumulators, and each output is stored once (no read-modify-write of the destinations).
 * tp: expanded tables of this row group, [input][row] x 32 bytes; outs: R u32 output pointers.
 */
// @ts-ignore: decorator
@inline
function rowGroup(R: i32, tp: usize, cols: u32, inPtrs: usize, outs: usize, off: usize, n: usize): void {
  const mask = i8x16.splat(0x0f);
  const step: usize = <usize>R << 5;
  const o0 = load<usize>(outs) + off;
  const o1 = R > 1 ? load<usize>(outs, 4) + off : 0;
  const o2 = R > 2 ? load<usize>(outs, 8) + off : 0;
  const o3 = R > 3 ? load<usize>(outs, 12) + off : 0;
  for (let c: usize = 0; c < n; c += 32) {
    let a0 = i64x2.splat(0), b0 = i64x2.splat(0);
    let a1 = i64x2.splat(0), b1 = i64x2.splat(0);
    let a2 = i64x2.splat(0), b2 = i64x2.splat(0);
    let a3 = i64x2.splat(0), b3 = i64x2.splat(0);
    let t = tp;
    const col = off + c;
    for (let i: u32 = 0; i < cols; i++) {
      const p = load<usize>(inPtrs + (<usize>i << 2)) + col;
      const x = v128.load(p);
      const y = v128.load(p, 16);
      const xl = v128.and(x, mask);
      const xh = i8x16.shr_u(x, 4);
      const yl = v128.and(y, mask);
      const yh = i8x16.shr_u(y, 4);
      let lo = tbl(t, 0);
      let hi = tbl(t, 16);
      a0 = v128.xor(a0, v128.xor(shuffle(lo, xl), shuffle(hi, xh)));
      b0 = v128.xor(b0, v128.xor(shuffle(lo, yl), shuffle(hi, yh)));
      if (R > 1) {
        lo = tbl(t, 32);
        hi = tbl(t, 48);
        a1 = v128.xor(a1, v128.xor(shuffle(lo, xl), shuffle(hi, xh)));
        b1 = v128.xor(b1, v128.xor(shuffle(lo, yl), shuffle(hi, yh)));
      }
      if (R > 2) {
        lo = tbl(t, 64);
        hi = tbl(t, 80);
        a2 = v128.xor(a2, v128.xor(shuffle(lo, xl), shuffle(hi, xh)));
        b2 = v128.xor(b2, v128.xor(shuffle(lo, yl), shuffle(hi, yh)));
      }
      if (R > 3) {
        lo = tbl(t, 96);
        hi = tbl(t, 112);
        a3 = v128.xor(a3, v128.xor(shuffle(lo, xl), shuffle(hi, xh)));
        b3 = v128.xor(b3, v128.xor(shuffle(lo, yl), shuffle(hi, yh)));
      }
      t += step;
    }
    v128.store(o0 + c, a0);
    v128.store(o0 + c, b0, 16);
    if (R > 1) {
      v128.store(o1 + c, a1);
      v128.store(o1 + c, b1, 16);
    }
    if (R > 2) {
      v128.store(o2 + c, a2);
      v128.store(o2 + c, b2, 16);
    }
    if (R > 3) {
      v128.store(o3 + c, a3);
      v128.store(o3 + c, b3, 16);
    }
  }
}

function rows4(tp: usize, cols: u32, inPtrs: usize, outs: usize, off: usize, n: usize): void {
  rowGroup(4, tp, cols, inPtrs, outs, off, n);
}
function rows3(tp: usize, cols: u32, inPtrs: usize, outs: usize, off: usize, n: usize): void {
  rowGroup(3, tp, cols, inPtrs, outs, off, n);
}
function rows2(tp: usize, cols: u32, inPtrs: usize, outs: usize, off: usize, n: usize): void {
  rowGroup(2, tp, cols, inPtrs, outs, off, n);
}
function rows1(tp: usize, cols: u32, inPtrs: usize, outs: usize, off: usize, n: usize): void {
  rowGroup(1, tp, cols, inPtrs, outs, off, n);
}

/** Rows in the group starting at row r of `rows`: 4 while at least 4 remain, else what remains (1..3). */
// @ts-ignore: decorator
@inline
function groupRows(rows: u32, r: u32): u32 {
  const left = rows - r;
  return left >= 4 ? 4 : left;
}

/** Bytes of scratch the expanded tables of a rows x cols matrix take: rows * cols * 32. */
export function tableBytes(rows: u32, cols: u32): usize {
  return (<usize>rows * cols) << 5;
}

/**
 * Expand the rows x cols coefficient matrix at `coef` into `scratch` (tableBytes(rows, cols) bytes, 16-byte
 * aligned) in the order matMul reads it: row groups of up to 4 (see rowGroup); the group at row r0 with R
 * rows holds [input i][row j] at scratch + (r0 * cols + i * R + j) * 32.
 */
export function expandTables(coef: usize, rows: u32, cols: u32, scratch: usize): void {
  for (let r0: u32 = 0; r0 < rows; r0 += 4) {
    const R = groupRows(rows, r0);
    const base = scratch + ((<usize>r0 * cols) << 5);
    for (let i: u32 = 0; i < cols; i++) {
      for (let j: u32 = 0; j < R; j++) {
        const src = TABLES + (<usize>load<u8>(coef + <usize>(r0 + j) * cols + i) << 5);
        const dst = base + ((<usize>(i * R + j)) << 5);
        v128.store(dst, v128.load(src));
        v128.store(dst, v128.load(src, 16), 16);
      }
    }
  }
}

/**
 * Fused matrix multiply over the columns [start, end): out[r] = sum_i coef[r*cols + i] * in[i] for r < rows.
 * coef: rows*cols bytes; inPtrs: cols u32 pointers; outPtrs: rows u32 pointers (shard starts, not offset by
 * start); scratch: the tables expandTables() made from coef. Output rows go in groups of up to 4, over
 * strips of `strip` bytes (a multiple of 64; 0 means the whole range) so that later groups find a strip's
 * inputs still in cache; the last (end - start) % 32 bytes go one row at a time. Outputs must not alias
 * inputs. Threads sharing one memory may run disjoint column ranges of the same call at once: the kernel
 * only reads coef, the pointer tables and scratch, and writes outputs within [start, end).
 */
export function matMul(coef: usize, rows: u32, cols: u32, inPtrs: usize, outPtrs: usize, start: usize, end: usize, strip: usize, scratch: usize): void {
  const body = start + ((end - start) & ~<usize>31);
  if (strip == 0 || strip > body - start) strip = body - start;
  for (let off = start; off < body; off += strip) {
    let n = body - off;
    if (n > strip) n = strip;
    for (let r0: u32 = 0; r0 < rows; r0 += 4) {
      const tp = scratch + ((<usize>r0 * cols) << 5);
      const outs = outPtrs + (<usize>r0 << 2);
      const R = groupRows(rows, r0);
      if (R == 4) rows4(tp, cols, inPtrs, outs, off, n);
      else if (R == 3) rows3(tp, cols, inPtrs, outs, off, n);
      else if (R == 2) rows2(tp, cols, inPtrs, outs, off, n);
      else rows1(tp, cols, inPtrs, outs, off, n);
    }
  }
  if (body < end) {
    const n = end - body;
    for (let r: u32 = 0; r < rows; r++) {
      const out = load<usize>(outPtrs + (<usize>r << 2)) + body;
      const row = coef + <usize>r * cols;
      mulRegion(load<u8>(row), load<usize>(inPtrs) + body, out, n, false);
      for (let i: u32 = 1; i < cols; i++) {
        mulRegion(load<u8>(row + i), load<usize>(inPtrs + (<usize>i << 2)) + body, out, n, true);
      }
    }
  }
}
