// Two uploads of the same content at once (a copied file, two equal packs) both succeed: the second waits
// for the first and finds its shares stored, instead of colliding with it share by share on the peers.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { bytesInput } from '../../src/format/index.ts';
import { download, upload } from '../../src/client/index.ts';
import { parseCap, storageIndexOf } from '../../src/caps/index.ts';
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
  // One set of shares, not three colliding ones: each of the n shares once, on n distinct stores.
  const si = storageIndexOf(parseCap(a.cap))!;
  const held = await Promise.all(grid.stores.map(async (s) => (await s.list(si)).map((l) => l.shareNum)));
  assert.deepEqual(held.flat().sort(), [0, 1, 2, 3, 4], `shares per store: ${JSON.stringify(held)}`);
  assert.ok(held.every((h) => h.length === 1), `one share per store: ${JSON.stringify(held)}`);
  // And what they stored is the file.
  const h = await download(a.cap, grid.finder);
  const back: Uint8Array[] = [];
  for await (const chunk of h.stream) back.push(chunk);
  assert.ok(Buffer.concat(back).equals(data), 'the file downloads byte-identical');
});
