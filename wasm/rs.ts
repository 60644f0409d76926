// Reed-Solomon GF(2^8) kernel (polynomial 0x11D), compiled by AssemblyScript into two variants:
// plain SIMD (i8x16.swizzle) and relaxed SIMD (i8x16.relaxed_swizzle), selected at compile time by
// ASC_FEATURE_RELAXED_SIMD. Multiplication by a constant c uses split-nibble tables:
// c*x = LO[c][x & 15] ^ HI[c][x >> 4], each table 16 bytes, all 256 coefficients precomputed (8 KiB).
// The kernel never allocates: the JS side owns every byte above heapBase() and passes pointers.

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

/**
 * Fused matrix multiply: out[r] = sum_i coef[r*cols + i] * in[i] for r < rows, over len bytes.
 * coef: rows*cols bytes; inPtrs: cols u32 pointers; outPtrs: rows u32 pointers.
 * Works in strips of `strip` bytes (a multiple of 64; 0 means the whole length) so each input
 * strip stays in cache while every output row consumes it. Outputs must not alias inputs.
 */
export function matMul(coef: usize, rows: u32, cols: u32, inPtrs: usize, outPtrs: usize, len: usize, strip: usize): void {
  if (strip == 0 || strip > len) strip = len;
  for (let off: usize = 0; off < len; off += strip) {
    let n = len - off;
    if (n > strip) n = strip;
    for (let r: u32 = 0; r < rows; r++) {
      const out = load<usize>(outPtrs + (<usize>r << 2)) + off;
      const row = coef + <usize>r * cols;
      mulRegion(load<u8>(row), load<usize>(inPtrs) + off, out, n, false);
      for (let i: u32 = 1; i < cols; i++) {
        mulRegion(load<u8>(row + i), load<usize>(inPtrs + (<usize>i << 2)) + off, out, n, true);
      }
    }
  }
}

