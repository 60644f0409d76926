// Safety of one folder at a glance (the web UI's state colour and sentence), from what the health loop knows:
// the packs its latest snapshot needs, each pack's last check (which peers listed which shares), the peers
// that went away since, the repairs under way, the durability estimate. Pure: no I/O, no clock.
// States, worst first:
//   at-risk    some pack is unrecoverable, or has no share to spare (one more loss and it is gone);
//   repairing  the health loop is repairing one of its packs;
//   degraded   some pack has its shares on fewer distinct live peers than the repair threshold;
//   unknown    no snapshot yet, or some pack not checked yet;
//   safe       every pack checked, each at or above the threshold.
// A holder counts as gone when it disconnected after the pack's last check (and has not come back): a peer
// killed between two rounds degrades its folders at once, not at the next check.
import { happiness } from '../client/index.ts';

export type FolderSafety = 'safe' | 'degraded' | 'repairing' | 'at-risk' | 'unknown';

/** What the loop remembers of one pack's last check. */
export interface PackState {
  holders: Record<string, string[]>;
  needed: number;
  total: number;
  checkedAt: number;
}

/** The model's inputs for one peer holding shares of the folder's latest snapshot. */
export interface HostInput {
  peer: string;
  availability: number;
  up: boolean;
  shares: number;
}

export interface FolderHealth {
  folder: string;
  rootCap: string;
  /** The latest snapshot (null: none yet). */
  snapshot: { cap: string; time: number } | null;
  state: FolderSafety;
  /** Packs the latest snapshot needs (null: not walked yet), and how many of them were checked. */
  packs: number | null;
  checked: number;
  needed: number;
  total: number;
  threshold: number;
  /** Over the checked packs, counting live holders only: the fewest distinct shares, and the fewest distinct peers holding them. */
  minShares: number | null;
  minHosts: number | null;
  /** Packs below the repair threshold now; with no share to spare (or unrecoverable); unrecoverable; being repaired. */
  below: number;
  atRisk: number;
  unrecoverable: number;
  repairing: number;
  /** P[every pack of the latest snapshot recoverable] (the loop's estimate; null before every pack was checked). */
  durability: number | null;
  weakest: number | null;
  /** The peers holding its shares, with the availability the estimate used (most shares first, at most MAX_HOSTS). */
  hosts: HostInput[];
  /** Every pack of the latest snapshot has been checked since this time (null: some never was). */
  lastFullCheck: number | null;
  /** The latest repair of one of its packs. */
  lastRepair: number | null;
}

export const MAX_HOSTS = 64; // hosts listed per folder (the hover text and the API answer stay small)

export interface FolderHealthInput {
  folder: string;
  rootCap: string;
  snapshot: { cap: string; time: number } | null;
  /** Packs the snapshot needs, undefined when not walked yet. */
  packs: string[] | undefined;
  states: (cap: string) => PackState | undefined;
  /** When a peer was last seen going away (absent: connected, or never seen going). */
  lostAt: (peer: string) => number | undefined;
  repairing: (cap: string) => boolean;
  repairedAt: (cap: string) => number | undefined;
  availability: (peer: string) => number;
  durability: { probability: number | null; weakest: number | null };
  encoding: { k: number; n: number };
  threshold: number;
}

/** One pack now: its holders minus those gone since it was checked. */
export function livePack(s: PackState, lostAt: (peer: string) => number | undefined): { shares: number; hosts: number; holders: Record<string, string[]> } {
  const live: Record<string, string[]> = {};
  const placements = new Map<number, Set<string>>();
  for (const [share, peers] of Object.entries(s.holders)) {
    const up = peers.filter((p) => {
      const t = lostAt(p);
      return t === undefined || t <= s.checkedAt;
    });
    if (!up.length) continue;
    live[share] = up;
    placements.set(Number(share), new Set(up));
  }
  return { shares: placements.size, hosts: happiness(placements), holders: live };
}

export function folderHealth(i: FolderHealthInput): FolderHealth {
  const base = {
    folder: i.folder,
    rootCap: i.rootCap,
    snapshot: i.snapshot,
    needed: i.encoding.k,
    total: i.encoding.n,
    threshold: i.threshold,
    durability: i.durability.probability,
    weakest: i.durability.weakest
  };
  const empty = {
    packs: i.packs?.length ?? null,
    checked: 0,
    minShares: null,
    minHosts: null,
    below: 0,
    atRisk: 0,
    unrecoverable: 0,
    repairing: 0,
    hosts: [],
    lastFullCheck: null,
    lastRepair: null
  };
  if (!i.snapshot || !i.packs) return { ...base, ...empty, state: 'unknown' };
  let checked = 0,
    below = 0,
    atRisk = 0,
    unrecoverable = 0,
    repairing = 0;
  let minShares: number | null = null,
    minHosts: number | null = null,
    oldestCheck = Infinity,
    lastRepair: number | null = null;
  let needed = i.encoding.k,
    total = i.encoding.n;
  const hosts = new Map<string, number>();
  for (const cap of i.packs) {
    if (i.repairing(cap)) repairing++;
    const r = i.repairedAt(cap);
    if (r !== undefined && (lastRepair === null || r > lastRepair)) lastRepair = r;
    const s = i.states(cap);
    if (!s) continue;
    checked++;
    needed = s.needed;
    total = s.total;
    oldestCheck = Math.min(oldestCheck, s.checkedAt);
    const live = livePack(s, i.lostAt);
    minShares = minShares === null ? live.shares : Math.min(minShares, live.shares);
    minHosts = minHosts === null ? live.hosts : Math.min(minHosts, live.hosts);
    if (live.shares < s.needed) unrecoverable++;
    // No share to spare: the next lost holder makes it unrecoverable (unless the code has no spare at all).
    if (live.shares < s.needed || (live.hosts <= s.needed && s.total > s.needed)) atRisk++;
    if (live.hosts < i.threshold) below++;
    for (const peers of Object.values(s.holders)) for (const p of peers) hosts.set(p, (hosts.get(p) ?? 0) + 1);
  }
  const all = checked === i.packs.length;
  const state: FolderSafety = atRisk ? 'at-risk' : repairing ? 'repairing' : below ? 'degraded' : all ? 'safe' : 'unknown';
  const hostList = [...hosts]
    .map(([peer, shares]): HostInput => ({ peer, shares, availability: i.availability(peer), up: i.lostAt(peer) === undefined }))
    .sort((a, b) => b.shares - a.shares || a.peer.localeCompare(b.peer))
    .slice(0, MAX_HOSTS);
  return {
    ...base,
    needed,
    total,
    state,
    packs: i.packs.length,
    checked,
    minShares,
    minHosts,
    below,
    atRisk,
    unrecoverable,
    repairing,
    hosts: hostList,
    lastFullCheck: all && checked ? oldestCheck : null,
    lastRepair
  };
}
