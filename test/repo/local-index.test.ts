// The local index's distrusted packs (found lost by a lease renewal) and how long its packs' leases are known to
// run, on real LevelDB (kept across a reopen) and in memory: deduplication (heldMany) does not see a distrusted
// pack's entries, reads (getMany) still do, and a pack trusted again is seen again; the count that invalidates a
// backup cache moves only when a pack is newly distrusted.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { memoryIndex, openLocalIndex, type BlobIndex } from '../../src/repo/index.ts';
import type { IndexEntry } from '../../src/repo/index-part.ts';
import { packKey, type PackCap } from '../../src/caps/index.ts';

const work = await mkdtemp(join(tmpdir(), 'p2pb-local-index-'));
after(() => rm(work, { recursive: true, force: true }));

const pack = (): PackCap => ({ type: 'pack', uebHash: randomBytes(32), k: 3, n: 5, size: 16 << 20 });
const entry = (p: PackCap, offset: number): IndexEntry => ({ id: randomBytes(32), pack: p, offset, length: 100, kind: 'data' });
const hex = (e: IndexEntry) => Buffer.from(e.id).toString('hex');
const seen = async (f: (ids: string[]) => Promise<unknown[]>, es: IndexEntry[]) => (await f(es.map(hex))).map((l) => l !== undefined);

for (const kind of ['LevelDB', 'memory'] as const) {
  test(`${kind}: a distrusted pack is not deduplicated against but still read, until trusted again`, async () => {
    const dir = join(work, `index-${kind}`);
    const open = () => (kind === 'LevelDB' ? openLocalIndex(dir) : Promise.resolve(memoryIndex()));
    let index: BlobIndex = await open();
    const [lost, fine] = [pack(), pack()];
    const es = [entry(lost, 0), entry(fine, 0), entry(lost, 100), entry(fine, 100)];
    await index.addOwn(es.slice(0, 2));
    await index.addPart('aa', es.slice(2));
    assert.equal(await index.distrustCount(), 0);
    assert.equal(await index.leasesUntil(), 0, 'not known at first');
    assert.deepEqual(await seen((ids) => index.heldMany(ids), es), [true, true, true, true]);

    assert.equal(await index.distrust([]), false, 'nothing to distrust');
    assert.equal(await index.distrust([packKey(lost)]), true);
    assert.equal(await index.distrust([packKey(lost)]), false, 'already distrusted');
    assert.equal(await index.distrustCount(), 1, 'counted once');
    assert.deepEqual(await seen((ids) => index.heldMany(ids), es), [false, true, false, true]);
    assert.deepEqual(await seen((ids) => index.getMany(ids), es), [true, true, true, true], 'reads still find them');
    const until = Date.now() + 86_400_000;
    await index.setLeasesUntil(until);

    if (kind === 'LevelDB') {
      await index.close();
      index = await open();
      assert.deepEqual(await seen((ids) => index.heldMany(ids), es), [false, true, false, true], 'kept across a reopen');
      assert.equal(await index.distrustCount(), 1);
      assert.equal(await index.leasesUntil(), until);
    }
    // A blob of the lost pack stored again: its new location is held.
    const again = { ...es[0], pack: pack() };
    await index.addOwn([again]);
    assert.deepEqual(await seen((ids) => index.heldMany(ids), [again, es[2]]), [true, false]);

    await index.trust([packKey(lost), packKey(fine)]);
    assert.deepEqual(await seen((ids) => index.heldMany(ids), es.slice(1)), [true, true, true], 'trusted again');
    assert.equal(await index.distrustCount(), 1, 'trusting does not count');
    if (kind === 'LevelDB') {
      await index.close();
      index = await open();
      assert.deepEqual(await seen((ids) => index.heldMany(ids), es.slice(2)), [true, true], 'trusted across a reopen');
      // A damaged value (not 8 bytes) reads as "not known": the next backup renews first.
      await index.close();
      const raw = new Level<string, Uint8Array>(dir, { valueEncoding: 'view' });
      await raw.put('u', new Uint8Array(3));
      await raw.close();
      index = await open();
      assert.equal(await index.leasesUntil(), 0);
    }
    await index.close();
  });
}
