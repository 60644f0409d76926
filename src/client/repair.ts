// Repair: bring an immutable file back to n good shares on n distinct hosts, with the verify cap only
// (after Tahoe's repairer: short, because the format does the work).
// 1. Check with verification: good (peer, share) pairs, corrupt ones, unreachable peers.
// 2. Match shares to distinct peers (maximum matching); every share left unmatched must be placed again.
// 3. Rebuild those shares from k good ones (src/format rebuildShares: Reed-Solomon on ciphertext blocks,
//    each rebuilt share's root checked against the root list the cap commits to).
// 4. Place each on a candidate peer that holds nothing of this file (DHT order), the next one on refusal; an
//    `exists` answer counts only once proven (prove.ts), and every share placed is reported (onPlaced).
// 5. Corrupt shares are deleted only where we own them (DELETE is owner-only); elsewhere a replacement suffices.
// 6. Check again: the report carries before and after.
import { rebuildShares, uebOfShare } from '../format/index.ts';
import { shareSource } from './upload.ts';
import { parseCap, type PackCap } from '../caps/index.ts';
import { proveShare } from './prove.ts';
import { RemoteRefusedError } from '../common/errors.ts';
import { inspectFile, placementsOf, type CheckOptions, type FileCheckReport } from './check.ts';
import { sourceOf } from './locate.ts';
import type { ServerFinder } from './types.ts';

export interface RepairOptions extends CheckOptions {
  /** Lease to ask for on placed shares (ms since epoch); default: the store's default lease. */
  leaseUntil?: number;
}

export interface RepairReport {
  cap: string;
  before: FileCheckReport;
  after: FileCheckReport;
  /** Shares that were missing from a distinct host (rebuilt and offered). */
  missing: number[];
  placed: { shareNum: number; peer: string }[];
  deleted: { shareNum: number; peer: string }[];
  failures: { shareNum?: number; peer?: string; error: string }[];
  /** True when the file ended healthy (n good shares on n distinct hosts). */
  repaired: boolean;
}

/** Maximum matching share -> peer (augmenting paths); what happiness counts, with the assignment. */
export function matchShares(placements: Map<number, Set<string>>): Map<number, string> {
  const shareOf = new Map<string, number>();
  const tryShare = (share: number, seen: Set<string>): boolean => {
    for (const peer of placements.get(share) ?? []) {
      if (seen.has(peer)) continue;
      seen.add(peer);
      const other = shareOf.get(peer);
      if (other === undefined || tryShare(other, seen)) {
        shareOf.set(peer, share);
        return true;
      }
    }
    return false;
  };
  for (const share of [...placements.keys()].sort((a, b) => a - b)) tryShare(share, new Set());
  return new Map([...shareOf].map(([peer, share]) => [share, peer]));
}

export async function repairFile(capText: string, finder: ServerFinder, o: RepairOptions = {}): Promise<RepairReport> {
  const { report: before, loc, verdicts } = await inspectFile(capText, finder, { ...o, verify: true });
  const result: RepairReport = { cap: capText, before, after: before, missing: [], placed: [], deleted: [], failures: [], repaired: before.healthy };
  if (!loc || before.healthy) return result;
  if (!before.recoverable) {
    result.failures.push({ error: `only ${before.found} of the ${before.needed} shares needed were found` });
    return result;
  }
  const n = before.total;
  const goodKey = new Set((verdicts ?? []).filter((v) => v.status === 'ok').map((v) => `${v.peer}/${v.shareNum}`));
  const good = loc.pairs.filter((p) => goodKey.has(`${p.peer}/${p.shareNum}`));
  const matched = matchShares(placementsOf(good));
  const missing = Array.from({ length: n }, (_, i) => i).filter((i) => !matched.has(i));
  result.missing = missing;

  // Our corrupt shares go (owner-only DELETE; not-owner refusals are expected for others' shares).
  const corrupt = (verdicts ?? []).filter((v) => v.status === 'corrupt');
  for (const v of corrupt) {
    const server = loc.servers.get(v.peer);
    if (!server?.delete) continue;
    try {
      await server.delete(loc.si, v.shareNum, { signal: o.signal });
      result.deleted.push({ shareNum: v.shareNum, peer: v.peer });
      await Promise.resolve(finder.onDeleted?.({ peer: v.peer, si: loc.si, shareNum: v.shareNum })).catch(() => {});
    } catch (e) {
      o.signal?.throwIfAborted();
      if (!(e instanceof RemoteRefusedError && e.reason === 'not-owner'))
        result.failures.push({ shareNum: v.shareNum, peer: v.peer, error: (e as Error).message });
    }
  }
  if (missing.length) {
    // One source per share number, from good pairs only.
    const seen = new Set<number>();
    const sources = good.filter((p) => !seen.has(p.shareNum) && seen.add(p.shareNum)).map((p) => sourceOf(loc, p.peer, p.shareNum, p.size, o.signal));
    const { shares } = await rebuildShares(before.verifyCap!, sources, missing, { signal: o.signal });
    // Free hosts: no listed share of this file at all, or only corrupt ones we just deleted.
    const busy = new Set(loc.pairs.map((p) => p.peer));
    for (const d of result.deleted)
      if (!loc.pairs.some((p) => p.peer === d.peer && !result.deleted.some((x) => x.peer === p.peer && x.shareNum === p.shareNum))) busy.delete(d.peer);
    const free = loc.candidates.filter((s) => !busy.has(s.id) && !loc.unreachable.includes(s.id));
    for (const shareNum of missing) {
      const bytes = shares.get(shareNum)!;
      for (;;) {
        const server = free.shift();
        if (!server) {
          result.failures.push({ shareNum, error: 'no free peer left to take this share' });
          break;
        }
        try {
          const w = await server.writeShare(loc.si, shareNum, shareSource(bytes, o.signal), bytes.length, { ueb: uebOfShare(bytes), signal: o.signal });
          const vcap = parseCap(before.verifyCap!) as PackCap;
          if (w.status === 'exists') {
            // It held nothing of this file when listed: a claim to hold the share now must be proven.
            const p = await proveShare(server, vcap, shareNum, bytes.length, { signal: o.signal });
            if (p.ok || !p.unreachable)
              await Promise.resolve(
                finder.onAudit?.({ peer: server.id, si: loc.si, shareNum, ok: p.ok, ...(p.ok ? {} : { reason: `claimed share not proven: ${p.reason}` }) })
              ).catch(() => {});
            if (!p.ok) throw new Error(`peer said it holds share ${shareNum}; not proven: ${p.reason}`);
          }
          await Promise.resolve(
            finder.onPlaced?.({
              peer: server.id,
              si: loc.si,
              shareNum,
              size: bytes.length,
              verifyCap: before.verifyCap!,
              how: w.status === 'exists' ? 'proven' : 'written'
            })
          ).catch(() => {});
          result.placed.push({ shareNum, peer: server.id });
          o.onProgress?.({ type: 'client:repair:share-placed', shareNum, peer: server.id });
          break;
        } catch (e) {
          o.signal?.throwIfAborted();
          result.failures.push({ shareNum, peer: server.id, error: (e as Error).message });
          o.onProgress?.({ type: 'client:repair:share-failed', shareNum, peer: server.id, error: (e as Error).message });
        }
      }
    }
    if (result.placed.length) void finder.announce?.(loc.si).catch(() => {});
  }
  result.after = (await inspectFile(capText, finder, { ...o, verify: true })).report;
  result.repaired = result.after.happiness >= n;
  return result;
}
