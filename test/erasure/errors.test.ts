import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCodec, createParallelCodec, P2PBackupError } from '../../src/index.ts';
import { randomShards } from './helpers.ts';

const CODES: Record<string, string> = {
  InvalidParametersError: 'ERR_CODEC_PARAMS',
  InvalidShardError: 'ERR_CODEC_INVALID_SHARD',
  ShardSizeMismatchError: 'ERR_CODEC_SHARD_SIZE',
  TooFewShardsError: 'ERR_CODEC_TOO_FEW_SHARDS',
  KernelUnavailableError: 'ERR_CODEC_KERNEL',
  CodecClosedError: 'ERR_CODEC_CLOSED'
};
/** `fn` throws the named error with that name's stable code (and these details, when given). */
const throwsNamed = (fn: () => unknown, name: string, details?: Record<string, unknown>) =>
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof P2PBackupError, 'is a P2PBackupError');
    assert.equal(e.name, name);
    assert.equal(e.code, CODES[name]);
    if (details) assert.deepEqual(e.details, details);
    return true;
  });
const rejectsNamed = (p: Promise<unknown>, name: string) => assert.rejects(p, { name, code: CODES[name] });

test('bad parameters -> InvalidParametersError (ERR_CODEC_PARAMS)', () => {
  for (const opts of [
    { dataShards: 0, parityShards: 1 },
    { dataShards: 1, parityShards: 0 },
    { dataShards: 200, parityShards: 57 },
    { dataShards: 1.5, parityShards: 1 },
    { dataShards: '4', parityShards: 2 },
    null
  ]) {
    throwsNamed(() => createCodec(opts as never), 'InvalidParametersError');
  }
  throwsNamed(() => createParallelCodec({ dataShards: 4, parityShards: 2, threads: 0 }), 'InvalidParametersError');
  throwsNamed(() => createParallelCodec({ dataShards: 4, parityShards: 2, chunkBytes: 100 }), 'InvalidParametersError');
  throwsNamed(() => createParallelCodec({ dataShards: 4, parityShards: 2, minParallelBytes: -1 }), 'InvalidParametersError');
  assert.equal(createCodec({ dataShards: 255, parityShards: 1 }).totalShards, 256);
  throwsNamed(() => createCodec({ dataShards: 4, parityShards: 2 }).allocShards(0), 'InvalidParametersError');
  throwsNamed(() => createCodec({ dataShards: 4, parityShards: 2, kernel: 'avx' as never }), 'KernelUnavailableError');
});

test('bad shards -> InvalidShardError / ShardSizeMismatchError / TooFewShardsError', () => {
  const codec = createCodec({ dataShards: 4, parityShards: 2 });
  const data = randomShards(4, 10, 1);
  const all = [...data, ...codec.encode(data)];
  throwsNamed(() => codec.encode(data.slice(0, 3)), 'InvalidShardError');
  throwsNamed(() => codec.encode('abc' as never), 'InvalidShardError');
  throwsNamed(() => codec.encode([...data.slice(0, 3), [1, 2, 3] as never]), 'InvalidShardError');
  throwsNamed(() => codec.encode([...data.slice(0, 3), new Uint8Array(0)]), 'InvalidShardError');
  throwsNamed(() => codec.encode([...data.slice(0, 3), new Uint8Array(11)]), 'ShardSizeMismatchError', { index: 3, expected: 10, found: 11 });
  throwsNamed(() => codec.verify(all.slice(0, 5)), 'InvalidShardError');
  throwsNamed(() => codec.reconstruct([null, null, null, all[3], all[4], null]), 'TooFewShardsError', { needed: 4, found: 2 });
  throwsNamed(() => codec.reconstruct([null, null, all[2], all[3], all[4], null]), 'TooFewShardsError', { needed: 4, found: 3 });
  throwsNamed(() => codec.reconstruct([null, all[1], all[2], all[3], new Uint8Array(9), null]), 'ShardSizeMismatchError');
  const set = codec.allocShards(10);
  throwsNamed(() => codec.reconstructShardSet(set, [true, true, true]), 'InvalidShardError');
  throwsNamed(() => codec.reconstructShardSet(set, [false, false, false, true, true, true]), 'TooFewShardsError');
  const other = createCodec({ dataShards: 4, parityShards: 2 });
  throwsNamed(() => other.encodeShardSet(set), 'InvalidShardError');
  set.release();
  throwsNamed(() => codec.encodeShardSet(set), 'CodecClosedError');
  codec.close();
  throwsNamed(() => codec.encode(data), 'CodecClosedError');
});

test("caller's output buffers are untouched when an argument is invalid", () => {
  const codec = createCodec({ dataShards: 4, parityShards: 2 });
  const data = randomShards(4, 64, 2);
  const out = [new Uint8Array(64).fill(0xaa), new Uint8Array(63).fill(0xbb)];
  throwsNamed(() => codec.encodeInto(data, out), 'ShardSizeMismatchError');
  assert.ok(out[0].every((b) => b === 0xaa));
  assert.ok(out[1].every((b) => b === 0xbb));
  const badData = [...data.slice(0, 3), new Uint8Array(65)];
  const out2 = [new Uint8Array(64).fill(0xaa), new Uint8Array(64).fill(0xbb)];
  throwsNamed(() => codec.encodeInto(badData, out2), 'ShardSizeMismatchError');
  assert.ok(out2[0].every((b) => b === 0xaa) && out2[1].every((b) => b === 0xbb));
  // In-place shard set: a bad `present` list leaves every shard as it was.
  const set = codec.allocShards(64);
  set.shards.forEach((s, i) => s.fill(i + 1));
  throwsNamed(() => codec.reconstructShardSet(set, [false, false, false, true, true, 'yes' as never]), 'InvalidShardError');
  throwsNamed(() => codec.reconstructShardSet(set, [false, false, false, true, true, true]), 'TooFewShardsError');
  set.shards.forEach((s, i) =>
    assert.ok(
      s.every((b) => b === i + 1),
      `shard ${i} untouched`
    )
  );
});

test('parallel codec rejects bad input with the same named errors', async () => {
  const p = createParallelCodec({ dataShards: 3, parityShards: 2, threads: 1 });
  try {
    const data = randomShards(3, 8, 5);
    await rejectsNamed(p.encode(data.slice(0, 2)), 'InvalidShardError');
    await rejectsNamed(p.encodeBatch([data, [data[0], data[1], new Uint8Array(7)]]), 'ShardSizeMismatchError');
    await rejectsNamed(p.reconstruct([null, null, data[2], null, null]), 'TooFewShardsError');
  } finally {
    await p.close();
  }
  await rejectsNamed(p.encode(randomShards(3, 8, 5)), 'CodecClosedError');
});
