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
