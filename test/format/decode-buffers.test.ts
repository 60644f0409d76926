import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeFile, encodePack, type ShareSource } from '../../src/format/index.ts';
import { prng } from './helpers.ts';

async function collect(s: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const p of s) parts.push(Uint8Array.from(p));
  return new Uint8Array(Buffer.concat(parts));
}

/** Sources over `shares` (null: missing) that write whole-share reads into the `into` they are given, as the network's do. */
function sources(shares: (Uint8Array | null)[], intos: Uint8Array[], fail = -1): ShareSource[] {
  return shares.flatMap((bytes, shareNum) =>
    bytes
      ? [
          {
            shareNum,
            size: bytes.length,
            async read(offset: number, length: number, _signal?: AbortSignal, into?: Uint8Array) {
              if (shareNum === fail) throw new Error('holder gone');
              if (!into || offset !== 0 || length !== bytes.length) return bytes.subarray(offset, offset + length);
              intos.push(into);
              into.set(bytes);
              return into.subarray(0, length);
            }
          }
        ]
      : []
  );
}

const seen: Uint8Array[] = []; // every whole-share buffer handed out in this file

test('with the k data shares at hand no codec is made; a missing data share makes one', async () => {
  const data = prng(50_000, 7);
  const r = encodePack(data, { k: 3, n: 5, segmentSize: 4096 });
  const WA = (globalThis as unknown as { WebAssembly: { Instance: new (...a: unknown[]) => object } }).WebAssembly;
  const Instance = WA.Instance;
  let made = 0;
  WA.Instance = class extends Instance {
    constructor(...a: unknown[]) {
      super(...a);
      made++;
    }
  };
  try {
    assert.deepEqual(await collect(decodeFile(r.cap, sources(r.shares, seen))), data);
    assert.equal(made, 0);
    assert.deepEqual(await collect(decodeFile(r.cap, sources([r.shares[0], null, r.shares[2], r.shares[3], null], seen))), data);
    assert.equal(made, 1);
  } finally {
    WA.Instance = Instance;
  }
});

test('whole shares are read into buffers that the next decode reuses, unless the read failed', async () => {
  const a = encodePack(prng(60_000, 1), { k: 2, n: 3, segmentSize: 4096 });
  const b = encodePack(prng(60_000, 2), { k: 2, n: 3, segmentSize: 4096 });
  const first: Uint8Array[] = [];
  assert.deepEqual(await collect(decodeFile(a.cap, sources(a.shares, first))), prng(60_000, 1));
  assert.equal(first.length, 2);
  const second: Uint8Array[] = [];
  assert.deepEqual(await collect(decodeFile(b.cap, sources(b.shares, second))), prng(60_000, 2), 'reused buffers hold the new bytes');
  // Reused: buffers an earlier decode was given (this one's, or the first test's, still in the pool).
  assert.ok(first.every((f) => f.buffer.byteLength >= 1 << 20));
  const before = new Set([...first, ...seen].map((x) => x.buffer));
  assert.deepEqual(
    second.map((s) => before.has(s.buffer)),
    [true, true]
  );
  // A decode that stops early (its consumer leaves after the first segment) gives nothing back.
  const third: Uint8Array[] = [];
  for await (const _ of decodeFile(a.cap, sources(a.shares, third))) break;
  const fourth: Uint8Array[] = [];
  await collect(decodeFile(b.cap, sources(b.shares, fourth)));
  assert.ok(fourth.every((s) => !third.some((t) => t.buffer === s.buffer)));
});
