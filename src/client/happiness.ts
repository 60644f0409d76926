// Servers-of-happiness (after Tahoe-LAFS): the number of distinct servers that can each be matched to a
// distinct share, i.e. the size of a maximum bipartite matching between shares and the servers holding
// them. An upload is good when happiness >= `happy`: then any `happy` - k servers may vanish and k
// distinct servers still hold k distinct shares. Pure maths, no I/O.

/** placements: shareNum -> set of server ids holding it. */
export function happiness(placements: Map<number, Set<string>>): number {
  const matchOfServer = new Map<string, number>();
  const tryShare = (share: number, seen: Set<string>): boolean => {
    for (const server of placements.get(share) ?? []) {
      if (seen.has(server)) continue;
      seen.add(server);
      const other = matchOfServer.get(server);
      if (other === undefined || tryShare(other, seen)) {
        matchOfServer.set(server, share);
        return true;
      }
    }
    return false;
  };
  let matched = 0;
  for (const share of placements.keys()) if (tryShare(share, new Set())) matched++;
  return matched;
}

/**
 * Plan where each share goes: one share per server, in candidate order, skipping servers that already
 * hold a share of this file (their shares count as placed). When there are fewer servers than shares,
 * the remaining shares go round-robin onto servers already used (more copies, no extra happiness).
 * Returns shareNum -> server id for the shares still to be written.
 */
export function planPlacement(n: number, candidates: string[], existing: Map<number, Set<string>>): Map<number, string> {
  const plan = new Map<number, string>();
  const busy = new Set<string>();
  for (const holders of existing.values()) for (const s of holders) busy.add(s);
  const missing: number[] = [];
  for (let i = 0; i < n; i++) if (!existing.get(i)?.size) missing.push(i);
  const free = candidates.filter((c) => !busy.has(c));
  let j = 0;
  for (const share of missing) {
    if (j < free.length) plan.set(share, free[j++]);
  }
  const unplaced = missing.filter((s) => !plan.has(s));
  if (unplaced.length && candidates.length) {
    unplaced.forEach((share, i) => plan.set(share, candidates[i % candidates.length]));
  }
  return plan;
}
