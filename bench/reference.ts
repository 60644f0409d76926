// Raw-API driver for the reference implementation @digitaldefiance/reed-solomon-erasure.wasm (Rust
// reed-solomon-erasure compiled to wasm), used by tests (compatibility) and benches (speed comparison).
// We skip its JS wrapper: it copies the whole stripe in and out on every call, and its reconstruct()
// frees the flags buffer that the Rust export already took ownership of (double free; a reused flags buffer
// then makes the export return 10). Here: shards stay in wasm memory, every reconstruct gets a freshly
// malloc'ed flags buffer that we never free ourselves, and every return code is checked.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Wasm } from '../src/erasure/wasm-api.ts';
import type { WasmMemory, WasmModule } from '../src/erasure/wasm-api.ts';

interface RefExports {
  memory: WasmMemory;
  encode(ptr: number, len: number, k: number, m: number): number;
  reconstruct(ptr: number, len: number, k: number, m: number, flagsPtr: number, flagsLen: number): number;
  __wbindgen_malloc(size: number, align?: number): number;
  __wbindgen_free(ptr: number, size: number, align?: number): void;
}

let refModule: WasmModule | null = null;
function module(): WasmModule {
  if (!refModule) {
    const require = createRequire(import.meta.url);
    refModule = new Wasm.Module(readFileSync(require.resolve('@digitaldefiance/reed-solomon-erasure.wasm/wasm')));
  }
  return refModule;
}

/** One reference instance with one contiguous stripe buffer (k+m shards of shardLength) kept in wasm memory. */
export class ReferenceStripe {
  readonly k: number;
  readonly m: number;
  readonly shardLength: number;
  readonly ptr: number;
  readonly #x: RefExports;
  constructor(k: number, m: number, shardLength: number) {
    this.k = k;
    this.m = m;
    this.shardLength = shardLength;
    this.#x = new Wasm.Instance(module(), {}).exports as unknown as RefExports;
    this.ptr = this.#x.__wbindgen_malloc((k + m) * shardLength, 1);
  }
  /** View of shard i (re-derive after any call: memory may grow). */
  shard(i: number): Uint8Array {
    return new Uint8Array(this.#x.memory.buffer, this.ptr + i * this.shardLength, this.shardLength);
  }
  encode(): void {
    const rc = this.#x.encode(this.ptr, (this.k + this.m) * this.shardLength, this.k, this.m);
    if (rc !== 0) throw new Error(`reference encode returned ${rc}`);
  }
  /** Rebuilds the data shards whose present[i] is false (the reference does not rebuild parity). */
  reconstruct(present: readonly boolean[]): void {
    const flags = this.#x.__wbindgen_malloc(present.length, 1);
    new Uint8Array(this.#x.memory.buffer, flags, present.length).set(present.map((p) => (p ? 1 : 0)));
    // The export takes ownership of `flags` and frees it; do not free or reuse it.
    const rc = this.#x.reconstruct(this.ptr, (this.k + this.m) * this.shardLength, this.k, this.m, flags, present.length);
    if (rc !== 0) throw new Error(`reference reconstruct returned ${rc}`);
  }
}

/** Parity for k data shards, computed by the reference (fresh instance per call). */
export function referenceEncode(data: readonly Uint8Array[], m: number): Uint8Array[] {
  const len = data[0].length;
  const s = new ReferenceStripe(data.length, m, len);
  data.forEach((d, i) => s.shard(i).set(d));
  s.encode();
  return Array.from({ length: m }, (_, j) => s.shard(data.length + j).slice());
}

/** Data shards recovered by the reference from n entries (null = missing). */
export function referenceReconstructData(shards: readonly (Uint8Array | null)[], k: number): Uint8Array[] {
  const len = shards.find((s) => s)!.length;
  const s = new ReferenceStripe(k, shards.length - k, len);
  shards.forEach((d, i) => {
    if (d) s.shard(i).set(d);
  });
  s.reconstruct(shards.map((d) => d !== null));
  return Array.from({ length: k }, (_, i) => s.shard(i).slice());
}
