// The local index's record of lost packs (dropPacks) and of how long its packs' leases are known to run, on real
// LevelDB (kept across a reopen) and in memory: a lost pack's entries go, own and merged alike, and a part merged
// later does not bring them back; other packs' entries stay.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memoryIndex, openLocalIndex, type BlobIndex } from '../../src/repo/index.ts';
import type { IndexEntry } from '../../src/repo/index-part.ts';
import { packKey, type PackCap } from '../../src/caps/index.ts';

const work = await mkdtemp(join(tmpdir(), 'p2pb-local-index-'));
after(() => rm(work, { recursive: true, force: true }));

const pack = (): PackCap => ({ type: 'pack', uebHash: randomBytes(32), k: 3, n: 5, size: 16 << 20 });
const entry = (p: PackCap, offset: number): IndexEntry => ({ id: randomBytes(32), pack: p, offset, length: 100, kind: 'data' });
const hex = (e: IndexEntry) => Buffer.from(e.id).toString('hex');
const known = async (index: BlobIndex, es: IndexEntry[]) => (await index.getMany(es.map(hex))).map((l) => l !== undefined);

for (const kind of ['LevelDB', 'memory'] as const) {
  test(`${kind}: dropPacks forgets a lost pack's entries for good, and the lease time is kept`, async () => {
    const dir = join(work, `index-${Date.now()}`);
    const open = () => (kind === 'LevelDB' ? openLocalIndex(dir) : Promise.resolve(memoryIndex()));
    let index = await open();
    const [lost, fine] = [pack(), pack()];
    const own = [entry(lost, 0), entry(fine, 0)];
    const merged = [entry(lost, 100), entry(fine, 100)];
    await index.addOwn(own);
    await index.addPart('aa', merged);
    assert.equal(await index.drops(), 0);
    assert.equal(await index.leasesUntil(), 0, 'not known at first');

    assert.equal(await index.dropPacks([]), 0, 'nothing to drop');
    assert.equal(await index.drops(), 0, 'an empty drop is not counted');
    assert.equal(await index.dropPacks([packKey(lost)]), 2);
    assert.deepEqual(await known(index, [...own, ...merged]), [false, true, false, true]);
    if (kind === 'LevelDB') assert.deepEqual((await index.unpublished()).map(hex), [hex(own[1])], 'its unpublished entry went too');
    assert.equal(await index.drops(), 1);
    const until = Date.now() + 86_400_000;
    await index.setLeasesUntil(until);

    if (kind === 'LevelDB') {
      await index.close();
      index = await open();
    }
    // A part merged later (another device's, or this one's read back) names the lost pack: not taken.
    const late = [entry(lost, 200), entry(fine, 200)];
    await index.addPart('bb', late);
    assert.deepEqual(await known(index, late), [false, true]);
    assert.equal(await index.drops(), 1);
    assert.equal(await index.leasesUntil(), until);
    const all: string[] = [];
    for await (const e of index.entries()) all.push(packKey(e.pack));
    assert.ok(all.length === 3 && all.every((k) => k === packKey(fine)), 'only the other pack is named');
    await index.close();
  });
}
