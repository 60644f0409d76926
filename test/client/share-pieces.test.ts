// Shares travel block by block (src/format/check.ts sharePieces): an upload and a repair hand writeShare pieces
// that end where the share's blocks end, so a storage peer checks and writes a block per piece at the share's block
// offsets (docs/ARCHITECTURE.md, "Shares travel block by block").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { repairFile, uploadPack, type ServerFinder, type ShareServer } from '../../src/client/index.ts';
import { decodeUeb } from '../../src/format/ueb.ts';
import { createHealthGrid } from './grid.ts';

/** Where each piece a server was handed ends, and where the share's blocks end, per write. */
function recording(servers: ShareServer[]) {
  const writes: { peer: string; shareNum: number; ends: number[]; blockEnds: number[] }[] = [];
  const wrapped = servers.map((s): ShareServer => ({
    ...s,
    async writeShare(si, shareNum, source, size, o) {
      const g = decodeUeb(o.ueb)!.geometry;
      const blockEnds = Array.from({ length: g.numSegments - 1 }, (_, i) => g.blocksOffset + (i + 1) * g.blockSize).concat(size);
      const w = { peer: s.id, shareNum, ends: [] as number[], blockEnds };
      writes.push(w);
      let at = 0;
      async function* seen() {
        for await (const piece of source) {
          at += piece.length;
          w.ends.push(at);
          yield piece;
        }
      }
      return s.writeShare(si, shareNum, seen(), size, o);
    }
  }));
  return { writes, finder: { candidates: async () => wrapped } satisfies ServerFinder };
}

test('an upload and a repair send each share in pieces that end where its blocks end', async () => {
  const grid = await createHealthGrid(7);
  try {
    const rec = recording(grid.servers);
    const up = await uploadPack(randomBytes(20_000), rec.finder, { k: 3, n: 5, happy: 5, segmentSize: 4096 });
    assert.equal(rec.writes.length, 5);
    for (const w of rec.writes) {
      assert.equal(w.blockEnds.length, 5, '5 segments: 5 blocks, the trailer with the last');
      assert.deepEqual(w.ends, w.blockEnds, `share ${w.shareNum} on ${w.peer}`);
    }
    // Two holders go away for good; repair rebuilds their shares onto two other peers, pieced the same way.
    const gone = [...new Set(Object.values(up.placements).flat())].slice(0, 2);
    for (const peer of gone) grid.state[Number(peer.split('-')[1])].down = true;
    rec.writes.length = 0;
    const rep = await repairFile(up.capText, rec.finder);
    assert.equal(rep.repaired, true);
    const repaired = rec.writes.filter((w) => !gone.includes(w.peer));
    assert.equal(repaired.length, 2);
    for (const w of repaired) assert.deepEqual(w.ends, w.blockEnds, `repaired share ${w.shareNum} on ${w.peer}`);
  } finally {
    await grid.close();
  }
});
