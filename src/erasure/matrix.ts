// The systematic encoding matrix, built exactly as Backblaze JavaReedSolomon, klauspost/reedsolomon (default
// options) and Rust reed-solomon-erasure do: an n x k Vandermonde matrix V[r][c] = r^c, multiplied by the
// inverse of its top k x k square so the top k rows become the identity. Rows k..n-1 produce the parity.
import { gfExp, matrixInvert, matrixMul, matrixNew, matrixSelectRows } from './gf.ts';
import type { Matrix } from './gf.ts';

export function vandermonde(rows: number, cols: number): Matrix {
  const m = matrixNew(rows, cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) m.data[r * cols + c] = gfExp(r, c);
  return m;
}

/** n x k encoding matrix whose top k x k is the identity. */
export function buildEncodingMatrix(dataShards: number, totalShards: number): Matrix {
  const v = vandermonde(totalShards, dataShards);
  const top = matrixSelectRows(
    v,
    Array.from({ length: dataShards }, (_, i) => i)
  );
  return matrixMul(v, matrixInvert(top));
}
