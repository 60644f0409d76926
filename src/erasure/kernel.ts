// Loads the AssemblyScript GF(2^8) kernel (build/wasm/rs-{relaxed,simd}[-shared].wasm) and wraps one instance
// with its own linear memory, or (the -shared builds) with a shared memory that worker threads of the parallel
// codec instantiate too. Feature detection: WebAssembly.validate on the relaxed-SIMD build first, then plain SIMD.
// Memory layout of an instance: [kernel statics][coefficients 64 KiB][pointer tables 2 KiB][expanded tables,
// rows x cols x 32 bytes for the largest matrix the owner will multiply][shard slots...].
import { readFileSync } from 'node:fs';
import { COEF_REGION_BYTES, PTR_REGION_BYTES, SLOT_ALIGN, SLOT_STAGGER, STRIP_BYTES, TABLE_BYTES_PER_COEF, WASM_PAGE } from './constants.ts';
import { KernelUnavailableError } from './errors.ts';
import { Wasm } from './wasm-api.ts';
import type { WasmMemory, WasmModule } from './wasm-api.ts';

export type KernelVariant = 'simd' | 'relaxed';
export type KernelChoice = KernelVariant | 'auto';

/** @internal what the wasm module exports (workers call matMul directly). */
export interface KernelExports {
  memory: WasmMemory;
  _initialize(): void;
  heapBase(): number;
  mulAdd(c: number, src: number, dst: number, len: number): void;
  mulSet(c: number, src: number, dst: number, len: number): void;
  expandTables(coef: number, rows: number, cols: number, scratch: number): void;
  matMul(coef: number, rows: number, cols: number, inPtrs: number, outPtrs: number, start: number, end: number, strip: number, scratch: number): void;
}

const modules = new Map<string, WasmModule | null>();

function wasmUrl(name: string): URL {
  // Same relative location from src/erasure/ and dist/erasure/.
  return new URL(`../../build/wasm/${name}.wasm`, import.meta.url);
}

/** The compiled module of a variant, or null if it is not built or this runtime does not validate it. */
export function loadModule(variant: KernelVariant, shared = false): WasmModule | null {
  const name = `rs-${variant}${shared ? '-shared' : ''}`;
  if (modules.has(name)) return modules.get(name) ?? null;
  let mod: WasmModule | null = null;
  try {
    const bytes = readFileSync(wasmUrl(name));
    if (Wasm.validate(bytes)) mod = new Wasm.Module(bytes);
  } catch {
    mod = null;
  }
  modules.set(name, mod);
  return mod;
}

/** Largest memory a shared kernel may grow to, in pages (the -shared builds declare this maximum: 4 GiB). */
export const SHARED_MAX_PAGES = 65536;

/** A new shared memory for the -shared builds, `bytes` long at first. */
export function createSharedMemory(bytes: number): WasmMemory {
  return new Wasm.Memory({ initial: Math.max(1, Math.ceil(bytes / WASM_PAGE)), maximum: SHARED_MAX_PAGES, shared: true });
}

/** Which variant `choice` resolves to on this runtime; throws KernelUnavailableError if none works. */
export function resolveKernel(choice: KernelChoice = 'auto'): KernelVariant {
  if (choice !== 'auto' && choice !== 'simd' && choice !== 'relaxed') {
    throw new KernelUnavailableError(`unknown kernel "${String(choice)}"; use 'auto', 'simd' or 'relaxed'`, { kernel: choice });
  }
  const order: KernelVariant[] = choice === 'auto' ? ['relaxed', 'simd'] : [choice];
  for (const v of order) if (loadModule(v)) return v;
  throw new KernelUnavailableError(`no usable WebAssembly SIMD kernel (${order.join(', ')}): run \`npm run build\` and use a runtime with wasm SIMD`, {
    kernel: choice,
    tried: order
  });
}

export function alignUp(n: number, a: number = SLOT_ALIGN): number {
  return Math.ceil(n / a) * a;
}

/**
 * Distance between consecutive shard slots of `len` bytes. Shards of 4 KiB and more start SLOT_STAGGER bytes
 * apart modulo 4 KiB, so the kernel's k + m streams at the same column neither share cache sets nor 4 KiB-alias
 * stores with loads (stride of a multiple of 4 KiB + SLOT_STAGGER).
 */
export function slotStride(len: number): number {
  return len < 4096 ? alignUp(len) : alignUp(len, 4096) + SLOT_STAGGER;
}

/** One kernel instance and its memory. Views of its memory are invalidated when it grows; use bytes() again. */
export class Kernel {
  readonly variant: KernelVariant;
  readonly coefPtr: number;
  readonly inPtrsPtr: number;
  readonly outPtrsPtr: number;
  /** Expanded multiplication tables (scratch of matMul), `tableBytes` long. */
  readonly tablesPtr: number;
  readonly tableBytes: number;
  /** First byte of the shard-slot area. */
  readonly slotsPtr: number;
  readonly #exports: KernelExports;
  #view: Uint8Array;

  /**
   * `maxCoefs`: the largest rows x cols this kernel will multiply (the codec's k x m; at most 128 x 128),
   * which sizes the expanded-table scratch. `slotBytes`: reserve that many bytes of shard slots up front (so
   * views stay valid unless ensure() grows). `sharedMemory`: run the -shared build on this memory (from
   * createSharedMemory); views of a shared memory stay valid when it grows.
   */
  constructor(variant: KernelVariant, maxCoefs: number, slotBytes = 0, sharedMemory?: WasmMemory) {
    const mod = loadModule(variant, sharedMemory !== undefined);
    if (!mod) throw new KernelUnavailableError(`kernel variant "${variant}${sharedMemory ? ' (shared memory)' : ''}" is not available`, { kernel: variant });
    const instance = new Wasm.Instance(mod, sharedMemory ? { env: { memory: sharedMemory } } : {});
    this.#exports = instance.exports as unknown as KernelExports;
    this.#exports._initialize();
    this.variant = variant;
    this.coefPtr = alignUp(this.#exports.heapBase());
    this.inPtrsPtr = this.coefPtr + COEF_REGION_BYTES;
    this.outPtrsPtr = this.inPtrsPtr + PTR_REGION_BYTES / 2;
    this.tablesPtr = alignUp(this.inPtrsPtr + PTR_REGION_BYTES);
    this.tableBytes = maxCoefs * TABLE_BYTES_PER_COEF;
    this.slotsPtr = alignUp(this.tablesPtr + this.tableBytes);
    this.#view = new Uint8Array(this.#exports.memory.buffer);
    this.ensure(this.slotsPtr + slotBytes);
  }

  /** Grow memory (never shrinks) so that bytes [0, end) exist. Returns true if it grew (old views are now dead). */
  ensure(end: number): boolean {
    const mem = this.#exports.memory;
    const have = mem.buffer.byteLength;
    if (end <= have) return false;
    const pages = Math.ceil((end - have) / WASM_PAGE);
    try {
      mem.grow(pages);
    } catch (cause) {
      throw new KernelUnavailableError(`cannot grow kernel memory to ${end} bytes`, { bytes: end }, { cause });
    }
    this.#view = new Uint8Array(mem.buffer);
    return true;
  }

  /** A live view of the whole memory. */
  bytes(): Uint8Array {
    if (this.#view.byteLength === 0) this.#view = new Uint8Array(this.#exports.memory.buffer);
    return this.#view;
  }

  get buffer(): ArrayBuffer {
    return this.#exports.memory.buffer;
  }

  /**
   * outputs[r] = sum_i coef[r*cols+i] * inputs[i] over len bytes, in one fused strip-mined pass.
   * inputs / outputs are absolute addresses in this kernel's memory; outputs must not overlap inputs.
   */
  matMul(coef: Uint8Array, rows: number, cols: number, inputs: readonly number[], outputs: readonly number[], len: number): void {
    this.prepare(coef, rows, cols, inputs, outputs);
    this.run(rows, cols, 0, len);
  }

  /**
   * Write the matrix, its expanded tables and the pointer tables for run(). Until the next prepare(), any
   * thread sharing this memory may run() disjoint column ranges of the product.
   */
  prepare(coef: Uint8Array, rows: number, cols: number, inputs: readonly number[], outputs: readonly number[]): void {
    if (rows * cols * TABLE_BYTES_PER_COEF > this.tableBytes) throw new RangeError(`matMul ${rows}x${cols} exceeds this kernel's table scratch`);
    const mem = this.bytes();
    mem.set(coef.subarray(0, rows * cols), this.coefPtr);
    const ptrs = new Uint32Array(this.buffer, this.inPtrsPtr, 512);
    for (let i = 0; i < cols; i++) ptrs[i] = inputs[i];
    for (let r = 0; r < rows; r++) ptrs[256 + r] = outputs[r];
    this.#exports.expandTables(this.coefPtr, rows, cols, this.tablesPtr);
  }

  /** Columns [start, end) of the product prepare() set up. */
  run(rows: number, cols: number, start: number, end: number): void {
    this.#exports.matMul(this.coefPtr, rows, cols, this.inPtrsPtr, this.outPtrsPtr, start, end, STRIP_BYTES, this.tablesPtr);
  }

  mulAdd(c: number, src: number, dst: number, len: number): void {
    this.#exports.mulAdd(c, src, dst, len);
  }

  mulSet(c: number, src: number, dst: number, len: number): void {
    this.#exports.mulSet(c, src, dst, len);
  }
}
