// Verify: download every listed share and check every block's Merkle path, its tree, roots, UEB and footer
// against the cap — without decrypting (the verify cap suffices; src/format verifyShare). A share whose bytes
// fail is `corrupt` (named by peer); one that could not be read is `unavailable` (a network matter, not a lie).
import { verifyShare } from '../format/index.ts';
import type { PackCap } from '../caps/index.ts';
import { forEachLimit } from '../common/pool.ts';
import { sourceOf, type Located } from './locate.ts';
import type { ClientProgress } from './types.ts';

const VERIFY_CONCURRENCY = 4; // shares verified at once

export interface ShareVerdict {
  peer: string;
  shareNum: number;
  status: 'ok' | 'corrupt' | 'unavailable';
  region?: string;
  reason?: string;
  blocksChecked: number;
}

export async function verifyHolders(
  cap: PackCap,
  loc: Located,
  o: { signal?: AbortSignal; onProgress?: (e: ClientProgress) => void } = {}
): Promise<ShareVerdict[]> {
  const out: ShareVerdict[] = [];
  await forEachLimit(loc.pairs, VERIFY_CONCURRENCY, async (p) => {
    const r = await verifyShare(cap, sourceOf(loc, p.peer, p.shareNum, p.size, o.signal), { signal: o.signal });
    const first = r.errors[0];
    const v: ShareVerdict = r.ok
      ? { peer: p.peer, shareNum: p.shareNum, status: 'ok', blocksChecked: r.blocksChecked }
      : first
        ? {
            peer: p.peer,
            shareNum: p.shareNum,
            status: 'corrupt',
            region: (first.details as any)?.region,
            reason: first.message,
            blocksChecked: r.blocksChecked
          }
        : {
            peer: p.peer,
            shareNum: p.shareNum,
            status: 'unavailable',
            reason: String((r.readError as Error)?.message ?? r.readError),
            blocksChecked: r.blocksChecked
          };
    // A read that failed after some blocks verified still leaves the share unproven: count it unavailable.
    out.push(v);
    o.onProgress?.({ type: 'client:verify:share', peer: p.peer, shareNum: p.shareNum, ok: v.status === 'ok' });
  });
  return out.sort((a, b) => a.shareNum - b.shareNum || a.peer.localeCompare(b.peer));
}
