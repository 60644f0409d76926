// Which shards go into and out of one matrix multiply, and with which coefficients, for the single-thread and
// the parallel codec alike: the parity rows for encoding, and per erasure pattern a decode plan (cached, LRU).
import { DECODE_CACHE_SIZE } from './constants.ts';
import { matrixInvert, matrixMul, matrixSelectRows } from './gf.ts';
import type { Matrix } from './gf.ts';
import { buildEncodingMatrix } from './matrix.ts';

/** outputs[j] = sum_i coef[j * inputs.length + i] * shard[inputs[i]]; indices are shard numbers 0..n-1. */
export interface MatMulPlan {
  readonly inputs: readonly number[];
  readonly outputs: readonly number[];
  readonly coef: Uint8Array;
}

export class Planner {
  readonly dataShards: number;
  readonly totalShards: number;
  readonly encode: MatMulPlan;
  readonly #encoding: Matrix;
  readonly #cache = new Map<string, MatMulPlan>();

  constructor(dataShards: number, parityShards: number) {
    this.dataShards = dataShards;
    this.totalShards = dataShards + parityShards;
    this.#encoding = buildEncodingMatrix(dataShards, this.totalShards);
    this.encode = {
      inputs: Array.from({ length: dataShards }, (_, i) => i),
      outputs: Array.from({ length: parityShards }, (_, j) => dataShards + j),
      coef: this.#encoding.data.slice(dataShards * dataShards)
    };
  }

  /** Inputs: the first k present shards. Outputs: missing shards (data only, or all). Cached per pattern. */
  decode(present: readonly boolean[], dataOnly: boolean): MatMulPlan {
    const key = present.map((p) => (p ? '1' : '0')).join('') + (dataOnly ? 'd' : 'a');
    const hit = this.#cache.get(key);
    if (hit) {
      this.#cache.delete(key);
      this.#cache.set(key, hit);
      return hit;
    }
    const inputs: number[] = [];
    const outputs: number[] = [];
    for (let i = 0; i < this.totalShards; i++) {
      if (present[i]) {
        if (inputs.length < this.dataShards) inputs.push(i);
      } else if (!dataOnly || i < this.dataShards) {
        outputs.push(i);
      }
    }
    // decode (k x k) maps the chosen shards back to the data; output row o = encoding row o x decode.
    const decode = matrixInvert(matrixSelectRows(this.#encoding, inputs));
    const coef = outputs.length ? matrixMul(matrixSelectRows(this.#encoding, outputs), decode).data : new Uint8Array(0);
    const plan: MatMulPlan = { inputs, outputs, coef };
    this.#cache.set(key, plan);
    if (this.#cache.size > DECODE_CACHE_SIZE) this.#cache.delete(this.#cache.keys().next().value as string);
    return plan;
  }

  clear(): void {
    this.#cache.clear();
  }
}
