// Prune between real peers (issue 16 item 5, the swarm side): a file dropped from every kept snapshot has its
// pack's shares deleted from the peers that held them, the owner's fairness ledger stops counting them (the
// holders no longer store them for it), and what the kept snapshot needs still restores.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Peer } from '../../src/peer/peer.ts';
import { inProcessPeers } from './in-process.ts';
import { MIN_SHARE_CHARGE, shareCharge } from '../../src/store/index.ts';

const { dir, trio } = await inProcessPeers('p2pb-prune-', { fairness: { enabled: true, ratio: 1, graceBytes: 64 * 2 ** 20 } });

/** Share bytes `holder` keeps for `owner` as it charges them (a small share counts MIN_SHARE_CHARGE), from its store's records. */
async function heldFor(holder: Peer, owner: Peer): Promise<number> {
  let sum = 0;
  for await (const r of holder.store.records()) if (r.owner === owner.peerId) sum += shareCharge(r.size);
  return sum;
}

test(
  "forget --prune deletes a dropped file's pack from its holders and from the owner's ledger; the kept snapshot restores",
  { timeout: 120_000 },
  async () => {
    const [A, B, C] = await trio();
    // Two storage peers: with happy 2, the folder head and the repository record need only those two.
    const holders = [B, C];
    const src = join(dir, 'folder');
    await mkdir(src);
    await writeFile(join(src, 'kept.txt'), 'this stays\n'.repeat(1000));
    await writeFile(join(src, 'big.bin'), randomBytes(3 << 20)); // its own chunks, in packs of their own
    await A.folders!.backupNow(src, {});
    const before = await Promise.all(holders.map((h) => heldFor(h, A)));
    await unlink(join(src, 'big.bin'));
    await A.folders!.backupNow(src, {});

    const r = await A.folders!.forget(src, { keepLast: 1 }, { prune: true });
    assert.equal(r.remove.length, 1, 'the first snapshot is forgotten');
    const pruned = 'prune' in r ? r.prune : null;
    assert.ok(pruned && pruned.packsDeleted + pruned.packsRepacked >= 1, JSON.stringify(pruned));
    assert.ok(pruned.bytesFreed >= 3 << 20, `freed ${pruned.bytesFreed} bytes`);
    // Both holders had a copy of big.bin's packs (1-of-2): together they let at least twice its size go, less
    // the one small pack more each holds after the prune (the prune's own metadata, charged MIN_SHARE_CHARGE).
    const after_ = await Promise.all(holders.map((h) => heldFor(h, A)));
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    assert.ok(sum(before) - sum(after_) >= 2 * ((3 << 20) - MIN_SHARE_CHARGE), `held for A: ${before} -> ${after_}`);
    // The ledger counts what each holder still keeps for A, no more.
    const rep = await A.fairnessReport();
    holders.forEach((h, i) => assert.equal(rep.peers.find((p) => p.peer === h.peerId)?.theyStoreForMe ?? 0, after_[i], `A's ledger for holder ${i}`));
    const target = join(dir, 'restored');
    const folder = (await A.folders!.listFolders()).find((f) => f.path === src)!;
    await A.folders!.restore(folder.rootCap, target, {});
    assert.equal(await readFile(join(target, 'kept.txt'), 'utf8'), 'this stays\n'.repeat(1000));
    await assert.rejects(readFile(join(target, 'big.bin')), { code: 'ENOENT' });
  }
);
