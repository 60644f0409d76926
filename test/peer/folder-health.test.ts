// A folder's safety at a glance (src/peer/folder-health.ts), pure: the state of each case the web UI
// colours (safe, degraded, repairing, at risk, unknown), holders gone since the last check counted out,
// the counts behind the sentence, the model's inputs, last full check and last repair.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { folderHealth, livePack, type FolderHealthInput, type PackState } from '../../src/peer/folder-health.ts';

const peers = ['A', 'B', 'C', 'D', 'E', 'F'];
/** A 3-of-5 pack with share i on peers[i] (or the holders given), checked at `checkedAt`. */
const pack = (checkedAt: number, on = peers.slice(0, 5)): PackState => ({
  needed: 3,
  total: 5,
  checkedAt,
  holders: Object.fromEntries(on.map((p, i) => [String(i), [p]]))
});

type Over = Partial<Omit<FolderHealthInput, 'states' | 'repairing'>> & {
  states?: Record<string, PackState>;
  lost?: Record<string, number>;
  repairing?: string[];
};
function input(over: Over = {}): FolderHealthInput {
  const { states: given, lost: gone, repairing: busy, ...rest } = over;
  const states: Record<string, PackState> = given ?? { p1: pack(100), p2: pack(200) };
  const lost = gone ?? {};
  const repairing = new Set(busy ?? []);
  return {
    folder: '/docs',
    rootCap: 'p2pb:mr:x',
    snapshot: { cap: 'p2pb:blob:s', time: 50 },
    packs: ['p1', 'p2'],
    states: (c) => states[c],
    lostAt: (p) => lost[p],
    repairing: (c) => repairing.has(c),
    repairedAt: (c) => (c === 'p2' ? 150 : undefined),
    availability: (p) => (p === 'A' ? 0.99 : 0.9),
    durability: { probability: 0.999, weakest: 0.9995 },
    encoding: { k: 3, n: 5 },
    threshold: 5,
    ...rest
  } as FolderHealthInput;
}

test('every pack checked with 5 of 5 shares on 5 peers: safe, with the numbers of the sentence and the inputs', () => {
  const h = folderHealth(input());
  assert.equal(h.state, 'safe');
  assert.deepEqual([h.packs, h.checked, h.minShares, h.minHosts, h.needed, h.total, h.threshold, h.below, h.atRisk], [2, 2, 5, 5, 3, 5, 5, 0, 0]);
  assert.deepEqual([h.durability, h.weakest, h.lastFullCheck, h.lastRepair], [0.999, 0.9995, 100, 150]);
  assert.deepEqual(
    h.hosts.map((x) => [x.peer, x.shares, x.availability, x.up]),
    [
      ['A', 2, 0.99, true],
      ['B', 2, 0.9, true],
      ['C', 2, 0.9, true],
      ['D', 2, 0.9, true],
      ['E', 2, 0.9, true]
    ]
  );
});

test('a holder gone since the check: degraded at once; one gone before the check was already counted out by it', () => {
  const after = folderHealth(input({ lost: { C: 300 } }));
  assert.deepEqual([after.state, after.below, after.minShares, after.minHosts], ['degraded', 2, 4, 4]);
  assert.equal(after.hosts.find((x) => x.peer === 'C')!.up, false);
  // Lost at 150: pack p1 (checked at 100) lost it since, p2 (checked at 200, and still listing C) did not.
  const between = folderHealth(input({ lost: { C: 150 } }));
  assert.deepEqual([between.state, between.below], ['degraded', 1]);
  assert.deepEqual(
    livePack(pack(100), () => 150),
    { shares: 0, hosts: 0, holders: {} }
  );
});

test('a repair under way shows "repairing"; no share to spare, or unrecoverable, is "at risk" above all', () => {
  assert.equal(folderHealth(input({ lost: { C: 300 }, repairing: ['p1'] })).state, 'repairing');
  const twoGone = folderHealth(input({ lost: { C: 300, D: 300 }, repairing: ['p1'] }));
  assert.deepEqual([twoGone.state, twoGone.atRisk, twoGone.unrecoverable, twoGone.minShares], ['at-risk', 2, 0, 3]);
  const three = folderHealth(input({ lost: { A: 300, C: 300, D: 300 } }));
  assert.deepEqual([three.state, three.unrecoverable], ['at-risk', 2]);
  // Two shares on one peer: 5 shares but 4 distinct hosts, below a threshold of 5.
  const doubled = folderHealth(input({ states: { p1: pack(100, ['A', 'B', 'C', 'D', 'D']), p2: pack(100) } }));
  assert.deepEqual([doubled.state, doubled.minShares, doubled.minHosts], ['degraded', 5, 4]);
});

test('unknown: no snapshot yet, not walked yet, or a pack not checked yet', () => {
  assert.equal(folderHealth(input({ snapshot: null })).state, 'unknown');
  assert.deepEqual([folderHealth(input({ packs: undefined })).state, folderHealth(input({ packs: undefined })).packs], ['unknown', null]);
  const half = folderHealth(input({ states: { p1: pack(100) } }));
  assert.deepEqual([half.state, half.checked, half.lastFullCheck], ['unknown', 1, null]);
  // A snapshot of literal files only needs no pack: nothing can be lost.
  assert.equal(folderHealth(input({ packs: [] })).state, 'safe');
});
