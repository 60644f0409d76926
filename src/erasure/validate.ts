// Argument checks shared by the single-thread and parallel codecs. Everything is checked before any work
// starts or any caller buffer is written.
import { MAX_TOTAL_SHARDS } from './constants.ts';
import { InvalidParametersError, InvalidShardError, ShardSizeMismatchError, TooFewShardsError } from './errors.ts';

export interface CodecShape {
  readonly dataShards: number;
  readonly parityShards: number;
}

export function checkShape(opts: unknown): CodecShape {
  if (typeof opts !== 'object' || opts === null) {
    throw new InvalidParametersError('codec options must be an object { dataShards, parityShards }', { options: opts });
  }
  const { dataShards, parityShards } = opts as Record<string, unknown>;
  if (!Number.isInteger(dataShards) || (dataShards as number) < 1) {
    throw new InvalidParametersError('dataShards must be an integer >= 1', { dataShards });
  }
  if (!Number.isInteger(parityShards) || (parityShards as number) < 1) {
    throw new InvalidParametersError('parityShards must be an integer >= 1', { parityShards });
  }
  const total = (dataShards as number) + (parityShards as number);
  if (total > MAX_TOTAL_SHARDS) {
    throw new InvalidParametersError(`dataShards + parityShards must be <= ${MAX_TOTAL_SHARDS}`, { dataShards, parityShards, max: MAX_TOTAL_SHARDS });
  }
  return { dataShards: dataShards as number, parityShards: parityShards as number };
}

export function checkShardLength(len: unknown): number {
  if (!Number.isInteger(len) || (len as number) < 1 || (len as number) > 2 ** 31) {
    throw new InvalidParametersError('shard length must be an integer between 1 and 2^31', { shardLength: len });
  }
  return len as number;
}

function checkList(list: unknown, count: number, what: string): readonly unknown[] {
  if (!Array.isArray(list)) throw new InvalidShardError(`${what} must be an array of ${count} Uint8Array`, { expected: count });
  if (list.length !== count) {
    throw new InvalidShardError(`${what} must have exactly ${count} entries, got ${list.length}`, { expected: count, found: list.length });
  }
  return list;
}

function checkSame(shards: readonly unknown[], allowMissing: boolean, what: string): number {
  let len = -1;
  let first = -1;
  shards.forEach((s, i) => {
    if (s == null && allowMissing) return;
    if (!(s instanceof Uint8Array)) {
      throw new InvalidShardError(`${what}[${i}] must be a Uint8Array${allowMissing ? ' or null' : ''}`, { index: i, type: typeof s });
    }
    if (s.length === 0) throw new InvalidShardError(`${what}[${i}] is empty; shards must be at least 1 byte`, { index: i });
    if (len < 0) {
      len = s.length;
      first = i;
    } else if (s.length !== len) {
      throw new ShardSizeMismatchError(`${what}[${i}] has ${s.length} bytes but ${what}[${first}] has ${len}`, { index: i, expected: len, found: s.length });
    }
  });
  return len;
}

/** k data shards, all the same non-zero length; returns that length. */
export function checkData(shape: CodecShape, data: unknown): number {
  const list = checkList(data, shape.dataShards, 'data');
  return checkSame(list, false, 'data');
}

/** n shards, all present; returns the shard length. */
export function checkFull(shape: CodecShape, shards: unknown): number {
  const list = checkList(shards, shape.dataShards + shape.parityShards, 'shards');
  return checkSame(list, false, 'shards');
}

/** n entries, null/undefined for missing, at least k present; returns the shard length. */
export function checkPartial(shape: CodecShape, shards: unknown): number {
  const list = checkList(shards, shape.dataShards + shape.parityShards, 'shards');
  const len = checkSame(list, true, 'shards');
  const found = list.filter((s) => s != null).length;
  if (found < shape.dataShards) throw new TooFewShardsError(shape.dataShards, found);
  return len;
}

/** Output buffers for encodeInto: m arrays of exactly `len` bytes, none aliasing a data shard. */
export function checkParityOut(shape: CodecShape, parity: unknown, len: number, data: readonly Uint8Array[]): void {
  const list = checkList(parity, shape.parityShards, 'parity');
  list.forEach((p, i) => {
    if (!(p instanceof Uint8Array)) throw new InvalidShardError(`parity[${i}] must be a Uint8Array`, { index: i, type: typeof p });
    if (p.length !== len)
      throw new ShardSizeMismatchError(`parity[${i}] has ${p.length} bytes but data shards have ${len}`, { index: i, expected: len, found: p.length });
    for (const d of data) {
      if (d.buffer === p.buffer && d.byteOffset < p.byteOffset + p.length && p.byteOffset < d.byteOffset + d.length) {
        throw new InvalidShardError(`parity[${i}] overlaps a data shard`, { index: i });
      }
    }
  });
}

export function checkPresent(shape: CodecShape, present: unknown): boolean[] {
  const list = checkList(present, shape.dataShards + shape.parityShards, 'present');
  list.forEach((p, i) => {
    if (typeof p !== 'boolean') throw new InvalidShardError(`present[${i}] must be a boolean`, { index: i, type: typeof p });
  });
  const found = list.filter(Boolean).length;
  if (found < shape.dataShards) throw new TooFewShardsError(shape.dataShards, found);
  return list as boolean[];
}
