// Two uploads of the same content at once (a copied file, two equal packs) both succeed: the second waits
// for the first and finds its shares stored, instead of colliding with it share by share on the peers.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { bytesInput } from '../../src/format/index.ts';
import { upload } from '../../src/client/index.ts';
import { createGrid, CONVERGENCE_SECRET, ENCODING } from '../backup/grid.ts';

const grid = await createGrid();
after(() => grid.close());

test('concurrent uploads of one storage index both succeed with the same cap', async () => {
  const data = randomBytes(3 << 20); // three segments: long enough for the two to overlap
  const go = () => upload(bytesInput(data), grid.finder, { ...ENCODING, convergenceSecret: CONVERGENCE_SECRET });
  const [a, b, c] = await Promise.all([go(), go(), go()]);
  assert.equal(a.cap, b.cap);
  assert.equal(b.cap, c.cap);
  for (const r of [a, b, c]) assert.ok(r.happiness >= ENCODING.happy, `happiness ${r.happiness}`);
});
