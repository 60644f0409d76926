// Scalar GF(2^8) arithmetic (polynomial 0x11D, generator 2) and matrix algebra over it, in plain JS.
// Used to build encoding/decoding matrices; bulk data goes through the wasm kernel instead.
import { GF_POLYNOMIAL } from './constants.ts';

const EXP = new Uint8Array(512);
const LOG = new Uint8Array(256);
{
  let x = 1;
  for (let i = 0; i < 255; i++) {
    EXP[i] = x;
    LOG[x] = i;
    x <<= 1;
    if (x & 0x100) x ^= GF_POLYNOMIAL;
  }
  for (let i = 255; i < 512; i++) EXP[i] = EXP[i - 255];
}

export function gfMul(a: number, b: number): number {
  if (a === 0 || b === 0) return 0;
  return EXP[LOG[a] + LOG[b]];
}

export function gfDiv(a: number, b: number): number {
  if (b === 0) throw new RangeError('GF(2^8) division by zero');
  if (a === 0) return 0;
  return EXP[LOG[a] + 255 - LOG[b]];
}

export function gfInv(a: number): number {
  return gfDiv(1, a);
}

/** a^n with a^0 = 1 (also 0^0 = 1), as in Backblaze's galExp. */
export function gfExp(a: number, n: number): number {
  if (n === 0) return 1;
  if (a === 0) return 0;
  return EXP[(LOG[a] * n) % 255];
}

/** A dense row-major matrix over GF(2^8). */
export interface Matrix {
  readonly rows: number;
  readonly cols: number;
  readonly data: Uint8Array;
}

export function matrixNew(rows: number, cols: number): Matrix {
  return { rows, cols, data: new Uint8Array(rows * cols) };
}

export function matrixIdentity(n: number): Matrix {
  const m = matrixNew(n, n);
  for (let i = 0; i < n; i++) m.data[i * n + i] = 1;
  return m;
}

export function matrixMul(a: Matrix, b: Matrix): Matrix {
  if (a.cols !== b.rows) throw new RangeError(`matrix shapes ${a.rows}x${a.cols} and ${b.rows}x${b.cols} do not multiply`);
  const out = matrixNew(a.rows, b.cols);
  for (let r = 0; r < a.rows; r++) {
    for (let c = 0; c < b.cols; c++) {
      let v = 0;
      for (let i = 0; i < a.cols; i++) v ^= gfMul(a.data[r * a.cols + i], b.data[i * b.cols + c]);
      out.data[r * b.cols + c] = v;
    }
  }
  return out;
}

/** Rows `indices` of m, in that order. */
export function matrixSelectRows(m: Matrix, indices: readonly number[]): Matrix {
  const out = matrixNew(indices.length, m.cols);
  indices.forEach((r, i) => out.data.set(m.data.subarray(r * m.cols, (r + 1) * m.cols), i * m.cols));
  return out;
}

/** Inverse by Gauss-Jordan elimination; throws RangeError if singular. */
export function matrixInvert(m: Matrix): Matrix {
  const n = m.rows;
  if (n !== m.cols) throw new RangeError('only square matrices can be inverted');
  const w = 2 * n;
  const a = new Uint8Array(n * w);
  for (let r = 0; r < n; r++) {
    a.set(m.data.subarray(r * n, (r + 1) * n), r * w);
    a[r * w + n + r] = 1;
  }
  for (let col = 0; col < n; col++) {
    let pivot = col;
    while (pivot < n && a[pivot * w + col] === 0) pivot++;
    if (pivot === n) throw new RangeError('matrix is singular');
    if (pivot !== col) {
      const tmp = a.slice(pivot * w, (pivot + 1) * w);
      a.copyWithin(pivot * w, col * w, (col + 1) * w);
      a.set(tmp, col * w);
    }
    const inv = gfInv(a[col * w + col]);
    if (inv !== 1) for (let c = 0; c < w; c++) a[col * w + c] = gfMul(a[col * w + c], inv);
    for (let r = 0; r < n; r++) {
      const f = a[r * w + col];
      if (r === col || f === 0) continue;
      for (let c = 0; c < w; c++) a[r * w + c] ^= gfMul(f, a[col * w + c]);
    }
  }
  const out = matrixNew(n, n);
  for (let r = 0; r < n; r++) out.data.set(a.subarray(r * w + n, r * w + w), r * n);
  return out;
}
