// Share memory reused pack after pack (src/client/upload.ts): a pack's shares are encoded into memory that an
// earlier upload gave back once every write was answered; a share already placed keeps its bytes (servers copy
// what they are lent), and an upload whose write failed gives nothing back (a view may still sit on a stream).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createHealthGrid } from './grid.ts';
import { uploadPack, downloadPack, type ShareServer } from '../../src/client/index.ts';
import { releaseShareMemory, sharePoolSize } from '../../src/client/upload.ts';
import { encodePack, sharesBytes } from '../../src/format/index.ts';
import { PACK_FIRST_BYTES, PACK_TARGET_BYTES } from '../../src/repo/constants.ts';

const opts = { k: 3, n: 5, happy: 5, segmentSize: 4096 };

test('encodePack into reused memory writes every byte: the same shares as into fresh memory', () => {
  for (const [k, n, size] of [
    [3, 5, 20_000],
    [3, 5, 1],
    [2, 2, 10_001] // no parity: the padding of the last segment is written too
  ]) {
    const bytes = randomBytes(size);
    const fresh = encodePack(bytes, { k, n, segmentSize: 4096 });
    const into = new Uint8Array(sharesBytes(size, { k, n, segmentSize: 4096 }) + 7).fill(0xa5);
    const reused = encodePack(bytes, { k, n, segmentSize: 4096, into });
    assert.deepEqual(reused.cap, fresh.cap);
    reused.shares.forEach((s, i) => {
      assert.equal(s.buffer, into.buffer, 'a view of `into`');
      assert.ok(Buffer.from(s).equals(Buffer.from(fresh.shares[i])), `share ${i} of k=${k} n=${n} size=${size}`);
    });
    assert.throws(() => encodePack(bytes, { k, n, segmentSize: 4096, into: into.subarray(0, into.length - 8) }), { name: 'InvalidParamsError' });
  }
});

test('uploads reuse share memory; placed shares keep their bytes; a failed write gives its memory up', async () => {
  const grid = await createHealthGrid(6);
  try {
    const a = randomBytes(50_000);
    const b = randomBytes(50_000);
    const ra = await uploadPack(a, grid.finder, opts);
    const pooled = sharePoolSize();
    assert.ok(pooled >= 1, 'the memory of a clean upload comes back');
    const rb = await uploadPack(b, grid.finder, opts);
    assert.equal(sharePoolSize(), pooled, 'the second upload encoded into the memory the first gave back');
    // A bigger pack fits too: memory comes in whole units, not at the first pack's exact size.
    const bigger = randomBytes(70_000);
    const rbig = await uploadPack(bigger, grid.finder, opts);
    assert.equal(sharePoolSize(), pooled, 'a bigger pack encoded into the same memory (before: a new buffer beside it)');
    assert.ok(Buffer.from(await downloadPack(rbig.cap, grid.finder)).equals(bigger));
    // The first pack's shares were overwritten in memory by the second's: the stores kept their own copies.
    assert.ok(Buffer.from(await downloadPack(ra.cap, grid.finder)).equals(a));
    assert.ok(Buffer.from(await downloadPack(rb.cap, grid.finder)).equals(b));

    // One server fails in the middle of taking its share: the upload still succeeds elsewhere (6 candidates),
    // and its memory is not given back.
    let failed = 0;
    const flaky: ShareServer = {
      ...grid.servers[0],
      async writeShare(si, shareNum, source, size, o) {
        for await (const _ of source) {
          failed++;
          throw new Error('connection reset');
        }
        return grid.servers[0].writeShare(si, shareNum, source, size, o);
      }
    };
    const servers = [flaky, ...grid.servers.slice(1)];
    const before = sharePoolSize();
    const rc = await uploadPack(randomBytes(50_000), { candidates: async () => servers }, opts);
    assert.equal(failed, 1);
    assert.equal(rc.happiness, 5);
    assert.equal(sharePoolSize(), before - 1, 'taken from the pool and not given back');

    // An upload that fails before any write (no peers at all) gives its memory back: nothing of it left.
    assert.equal(sharePoolSize(), 0, 'the pool is empty: this upload takes fresh memory');
    await assert.rejects(uploadPack(randomBytes(50_000), { candidates: async () => [] }, opts), { name: 'NoPeersError' });
    assert.equal(sharePoolSize(), 1, 'and gives it to the pool');
    releaseShareMemory();
    assert.equal(sharePoolSize(), 0, 'a run of uploads ended: the pool lets go at once, not after SHARE_POOL_IDLE_MS');
  } finally {
    await grid.close();
  }
});

test("a run's small first packs and its full packs share one pooled buffer (no small buffer left beside the big one)", async () => {
  // The packer seals a run's first packs at 0.5, 1, 2 and 4 MiB, then PACK_TARGET_BYTES (src/repo/constants.ts): in
  // 4 MiB units, the small packs' share buffers stayed in the pool beside the full packs' ones, resident and never
  // used again (client peak RSS of a 1 GiB backup: 288-299 MiB with one unit per full pack, 315-318 before).
  const grid = await createHealthGrid(5);
  try {
    releaseShareMemory();
    const big = { k: 3, n: 5, happy: 5 };
    const first = randomBytes(PACK_FIRST_BYTES);
    await uploadPack(first, grid.finder, big);
    assert.equal(sharePoolSize(), 1);
    const full = randomBytes(PACK_TARGET_BYTES);
    const r = await uploadPack(full, grid.finder, big);
    assert.equal(sharePoolSize(), 1, `a full pack's shares (${sharesBytes(PACK_TARGET_BYTES, big)} bytes) encoded into the buffer of the first pack's`);
    assert.ok(Buffer.from(await downloadPack(r.cap, grid.finder)).equals(full));
  } finally {
    releaseShareMemory();
    await grid.close();
  }
});

test('uploadPack gives the pack bytes back (onConsumed) once its shares are encoded, before any share is placed', async () => {
  const grid = await createHealthGrid(5);
  try {
    const bytes = randomBytes(50_000);
    const events: string[] = [];
    const r = await uploadPack(bytes, grid.finder, {
      ...opts,
      onConsumed: () => events.push('consumed'),
      onProgress: (e) => {
        if (e.type === 'client:upload:share-placed') events.push('placed');
      }
    });
    assert.equal(events[0], 'consumed');
    assert.equal(events.filter((e) => e === 'consumed').length, 1, 'once');
    assert.equal(events.filter((e) => e === 'placed').length, 5);
    // The caller may overwrite the bytes as soon as they are given back: what was stored is what was encoded.
    const copy = Buffer.from(bytes);
    bytes.fill(0);
    assert.ok(Buffer.from(await downloadPack(r.cap, grid.finder)).equals(copy));
    // Encoding that fails gives them back too.
    let consumed = 0;
    await assert.rejects(uploadPack(new Uint8Array(0), grid.finder, { ...opts, onConsumed: () => consumed++ }));
    assert.equal(consumed, 1);
  } finally {
    await grid.close();
  }
});
