// Two uploads of the same pack at once both succeed: the second waits for the first and finds its shares stored
// (and proven: the holders' trailers equal its own), instead of colliding with it share by share on the peers.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { downloadPack, uploadPack } from '../../src/client/index.ts';
import { formatCap } from '../../src/caps/index.ts';
import { createGrid, ENCODING } from '../backup/grid.ts';

const grid = await createGrid();
after(() => grid.close());

test('concurrent uploads of one storage index both succeed with the same cap', async () => {
  const data = randomBytes(3 << 20); // three segments: long enough for the two to overlap
  const go = () => uploadPack(data, grid.finder, ENCODING);
  const [a, b, c] = await Promise.all([go(), go(), go()]);
  assert.equal(a.capText, b.capText);
  assert.equal(b.capText, c.capText);
  for (const r of [a, b, c]) assert.ok(r.happiness >= ENCODING.happy, `happiness ${r.happiness}`);
  // The later two were answered "exists" and proved it: every share is held once, and the pack reads back.
  const held = (await Promise.all(grid.stores.map((s) => s.list(Uint8Array.from(Buffer.from(a.storageIndex, 'hex')))))).flat();
  assert.equal(held.length, ENCODING.n);
  assert.deepEqual(Buffer.from(await downloadPack(a.cap, grid.finder)), data);
  assert.equal(formatCap(a.cap), a.capText);
});
