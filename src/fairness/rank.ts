// Placement preference: reorder the DHT-closest candidates so that shares go first to peers with whom
// the exchange is balanced and who have proven reliable. Pure (no I/O).
//
// Only the order changes, never the set: downloads ask LIST of the same DHT-closest set (and the
// provider records), so a share placed on the 9th-closest instead of the 1st-closest peer is found
// all the same. The cost is a little locality, never findability.
//
// Tiers, each kept in DHT order (stable sort):
//   0. good standing, predicted to accept (headroom >= 0) and reliability >= 0.5
//   1. good standing, predicted to accept, shakier audit history
//   2. good standing, predicted to refuse (I already use more than my allowance there)
//   3. failed standing (audit failure score, ledger.ts; placement skips them entirely; listed last so downloads still ask them)
import type { Standing } from './ledger.ts';

export interface RankInfo {
  standing: Standing;
  /** Audit pass estimate in (0, 1). */
  reliability: number;
  /** What I predict the peer still lets me store: ratio × what I store for it + grace − what it stores for me. */
  predictedHeadroom: number;
}

export function tierOf(i: RankInfo): number {
  if (i.standing === 'failed') return 3;
  if (i.predictedHeadroom < 0) return 2;
  return i.reliability >= 0.5 ? 0 : 1;
}

export function rankForPlacement<T extends { id: string }>(candidates: T[], info: (id: string) => RankInfo): T[] {
  return candidates
    .map((c, i) => ({ c, i, t: tierOf(info(c.id)) }))
    .sort((x, y) => x.t - y.t || x.i - y.i)
    .map((x) => x.c);
}
