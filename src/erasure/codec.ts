// The single-thread Reed-Solomon codec: encode, reconstruct, verify, and the zero-copy ShardSet path.
// Matrices are built in JS (gf.ts / matrix.ts); all bulk bytes go through one fused wasm matMul per call.
import { Buffer } from 'node:buffer';
import { CodecClosedError, InvalidShardError } from './errors.ts';
import { Kernel, resolveKernel, slotStride } from './kernel.ts';
import type { KernelChoice, KernelVariant } from './kernel.ts';
import { Planner } from './plan.ts';
import { checkData, checkFull, checkParityOut, checkPartial, checkPresent, checkShape, checkShardLength } from './validate.ts';

export interface CodecOptions {
  /** k: number of data shards, >= 1. */
  readonly dataShards: number;
  /** m: number of parity shards, >= 1; k + m <= 256. */
  readonly parityShards: number;
  /** Force a wasm kernel variant; 'auto' (default) picks relaxed SIMD when the runtime validates it. */
  readonly kernel?: KernelChoice;
}

/**
 * Shards living inside a dedicated kernel memory (no copies in or out). `shards[0..k)` are data,
 * `shards[k..n)` parity. The memory is sized once at allocShards() and never grows, so the views stay
 * valid until release(); after release() the views must not be used with the codec (they still point at
 * the old memory, which is garbage-collected once no view references it).
 */
export interface ShardSet {
  readonly shards: readonly Uint8Array[];
  readonly shardLength: number;
  readonly released: boolean;
  release(): void;
}

export interface ReconstructOptions {
  /** Recover only missing data shards (cheaper); missing parity shards are left as they are. */
  readonly dataOnly?: boolean;
}

export interface Codec {
  readonly dataShards: number;
  readonly parityShards: number;
  readonly totalShards: number;
  /** The wasm kernel variant in use. */
  readonly kernel: KernelVariant;
  /** k equal-length data shards -> m new parity shards. */
  encode(data: readonly Uint8Array[]): Uint8Array[];
  /** Like encode() but writes into caller-provided parity buffers (untouched if any argument is invalid). */
  encodeInto(data: readonly Uint8Array[], parity: readonly Uint8Array[]): void;
  /** n entries with null/undefined for missing ones, >= k present -> all n shards (present ones as given). */
  reconstruct(shards: readonly (Uint8Array | null | undefined)[]): Uint8Array[];
  /** Same input as reconstruct() -> the k data shards only (missing parity is not computed). */
  reconstructData(shards: readonly (Uint8Array | null | undefined)[]): Uint8Array[];
  /** True iff the parity shards match the data shards. */
  verify(shards: readonly Uint8Array[]): boolean;
  /** Allocate n shards of shardLength bytes as views into wasm memory (zero-copy path). */
  allocShards(shardLength: number): ShardSet;
  /** Fill the parity shards of `set` from its data shards, in place. */
  encodeShardSet(set: ShardSet): void;
  /** Rebuild the shards of `set` whose present[i] is false, in place (present ones are read only). */
  reconstructShardSet(set: ShardSet, present: readonly boolean[], options?: ReconstructOptions): void;
  /** Drop the kernel memory and caches; further calls throw CodecClosedError. */
  close(): void;
}

class ShardSetImpl implements ShardSet {
  readonly shards: readonly Uint8Array[];
  readonly shardLength: number;
  readonly addrs: readonly number[];
  readonly owner: ReedSolomonCodec;
  kernel: Kernel | null;
  constructor(owner: ReedSolomonCodec, kernel: Kernel, n: number, len: number) {
    const stride = slotStride(len);
    this.owner = owner;
    this.kernel = kernel;
    this.shardLength = len;
    this.addrs = Object.freeze(Array.from({ length: n }, (_, i) => kernel.slotsPtr + i * stride));
    this.shards = Object.freeze(this.addrs.map((a) => new Uint8Array(kernel.buffer, a, len)));
  }
  get released(): boolean {
    return this.kernel === null;
  }
  release(): void {
    this.kernel = null;
  }
}

class ReedSolomonCodec implements Codec {
  readonly dataShards: number;
  readonly parityShards: number;
  readonly totalShards: number;
  readonly kernel: KernelVariant;
  readonly #planner: Planner;
  readonly #parityRows: Uint8Array;
  #k: Kernel | null;

  constructor(options: CodecOptions) {
    const shape = checkShape(options);
    this.dataShards = shape.dataShards;
    this.parityShards = shape.parityShards;
    this.totalShards = shape.dataShards + shape.parityShards;
    this.kernel = resolveKernel(options.kernel ?? 'auto');
    this.#planner = new Planner(this.dataShards, this.parityShards);
    this.#parityRows = this.#planner.encode.coef;
    this.#k = new Kernel(this.kernel, this.dataShards * this.parityShards);
  }

  #kernel(): Kernel {
    if (!this.#k) throw new CodecClosedError('codec');
    return this.#k;
  }

  /** Slot addresses for n shards of len bytes in the shared kernel memory (grown if needed). */
  #slots(k: Kernel, len: number): number[] {
    const stride = slotStride(len);
    k.ensure(k.slotsPtr + this.totalShards * stride);
    return Array.from({ length: this.totalShards }, (_, i) => k.slotsPtr + i * stride);
  }

  #encodeToSlots(data: readonly Uint8Array[], len: number): { k: Kernel; slots: number[] } {
    const k = this.#kernel();
    const slots = this.#slots(k, len);
    const mem = k.bytes();
    for (let i = 0; i < this.dataShards; i++) mem.set(data[i], slots[i]);
    k.matMul(this.#parityRows, this.parityShards, this.dataShards, slots.slice(0, this.dataShards), slots.slice(this.dataShards), len);
    return { k, slots };
  }

  encode(data: readonly Uint8Array[]): Uint8Array[] {
    const len = checkData(this, data);
    const { k, slots } = this.#encodeToSlots(data, len);
    const mem = k.bytes();
    return slots.slice(this.dataShards).map((a) => mem.slice(a, a + len));
  }

  encodeInto(data: readonly Uint8Array[], parity: readonly Uint8Array[]): void {
    const len = checkData(this, data);
    checkParityOut(this, parity, len, data);
    const { k, slots } = this.#encodeToSlots(data, len);
    const mem = k.bytes();
    for (let j = 0; j < this.parityShards; j++) parity[j].set(mem.subarray(slots[this.dataShards + j], slots[this.dataShards + j] + len));
  }

  verify(shards: readonly Uint8Array[]): boolean {
    const len = checkFull(this, shards);
    const { k, slots } = this.#encodeToSlots(shards, len);
    const buf = k.buffer;
    for (let j = this.dataShards; j < this.totalShards; j++) {
      if (!Buffer.from(buf, slots[j], len).equals(shards[j])) return false;
    }
    return true;
  }

  #reconstruct(shards: readonly (Uint8Array | null | undefined)[], dataOnly: boolean): Uint8Array[] {
    const len = checkPartial(this, shards);
    const n = dataOnly ? this.dataShards : this.totalShards;
    const present = shards.map((s) => s != null);
    const plan = this.#planner.decode(present, dataOnly);
    const result = shards.slice(0, n) as (Uint8Array | null | undefined)[];
    if (plan.outputs.length === 0) return result as Uint8Array[];
    const k = this.#kernel();
    const slots = this.#slots(k, len);
    const mem = k.bytes();
    for (const i of plan.inputs) mem.set(shards[i] as Uint8Array, slots[i]);
    const outAddrs = plan.outputs.map((o) => slots[o]);
    k.matMul(
      plan.coef,
      plan.outputs.length,
      this.dataShards,
      plan.inputs.map((i) => slots[i]),
      outAddrs,
      len
    );
    plan.outputs.forEach((o, j) => {
      result[o] = mem.slice(outAddrs[j], outAddrs[j] + len);
    });
    return result as Uint8Array[];
  }

  reconstruct(shards: readonly (Uint8Array | null | undefined)[]): Uint8Array[] {
    return this.#reconstruct(shards, false);
  }

  reconstructData(shards: readonly (Uint8Array | null | undefined)[]): Uint8Array[] {
    return this.#reconstruct(shards, true);
  }

  allocShards(shardLength: number): ShardSet {
    this.#kernel();
    const len = checkShardLength(shardLength);
    const kernel = new Kernel(this.kernel, this.dataShards * this.parityShards, this.totalShards * slotStride(len));
    return new ShardSetImpl(this, kernel, this.totalShards, len);
  }

  #setKernel(set: ShardSet): { set: ShardSetImpl; k: Kernel } {
    this.#kernel();
    if (!(set instanceof ShardSetImpl) || set.owner !== this) {
      throw new InvalidShardError('shard set was not allocated by this codec (use codec.allocShards)', {});
    }
    if (!set.kernel) throw new CodecClosedError('shard set');
    return { set, k: set.kernel };
  }

  encodeShardSet(shardSet: ShardSet): void {
    const { set, k } = this.#setKernel(shardSet);
    const kk = this.dataShards;
    k.matMul(this.#parityRows, this.parityShards, kk, set.addrs.slice(0, kk), set.addrs.slice(kk), set.shardLength);
  }

  reconstructShardSet(shardSet: ShardSet, present: readonly boolean[], options: ReconstructOptions = {}): void {
    const { set, k } = this.#setKernel(shardSet);
    checkPresent(this, present);
    const plan = this.#planner.decode(present, options.dataOnly === true);
    if (plan.outputs.length === 0) return;
    k.matMul(
      plan.coef,
      plan.outputs.length,
      this.dataShards,
      plan.inputs.map((i) => set.addrs[i]),
      plan.outputs.map((o) => set.addrs[o]),
      set.shardLength
    );
  }

  close(): void {
    this.#k = null;
    this.#planner.clear();
  }
}

/** Create a Reed-Solomon codec for `dataShards` + `parityShards` shards. */
export function createCodec(options: CodecOptions): Codec {
  return new ReedSolomonCodec(options);
}
