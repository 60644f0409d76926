// The user's global view: what I offer, what I use, and the balance with each peer.
import type { FairnessLedger, AuditRecord, Standing } from './ledger.ts';
import { allowance, type FairnessSettings } from './policy.ts';

export interface PeerBalance {
  peer: string;
  /** Bytes I store for them (my store's records owned by them). */
  storedForThem: number;
  /** Bytes they store for me (my live placements on them). */
  theyStoreForMe: number;
  /** theyStoreForMe − storedForThem: positive means they give more than they take. */
  balance: number;
  /** What I let them store: ratio × theyStoreForMe + grace (0 in failed standing). */
  limit: number;
  headroom: number;
  standing: Standing;
  reliability: number;
  audits: AuditRecord;
  uptime: { firstSeen: number; lastSeen: number; connectedMs: number; connected: boolean };
}

export interface FairnessReport {
  settings: FairnessSettings;
  /** Space offered to the swarm and what others use of it. */
  offer: { offered: number; usedByOthers: number };
  /** What I use of others' space (live placements). */
  use: { placed: number; peers: number };
  peers: PeerBalance[];
}

export interface ReportComponents {
  ledger: FairnessLedger;
  store: { stats(): { offered: number; used: number }; ownerUsage(owner: string): { used: number; reserved: number }; usageByOwner(): Map<string, number> };
  self: string;
}

export function buildReport(c: ReportComponents, settings: FairnessSettings): FairnessReport {
  const ids = new Set([...c.ledger.peers(), ...c.store.usageByOwner().keys()]);
  ids.delete(c.self);
  const peers = [...ids]
    .map((peer): PeerBalance => {
      const a = allowance({ ledger: c.ledger, usage: (o) => c.store.ownerUsage(o) }, settings, peer);
      return {
        peer,
        storedForThem: a.storedForThem,
        theyStoreForMe: a.theyStoreForMe,
        balance: a.theyStoreForMe - a.storedForThem,
        limit: a.limit,
        headroom: a.headroom,
        standing: c.ledger.standing(peer),
        reliability: c.ledger.reliability(peer),
        audits: c.ledger.audit(peer),
        uptime: c.ledger.uptimeOf(peer)
      };
    })
    .sort((x, y) => x.balance - y.balance || x.peer.localeCompare(y.peer));
  const st = c.store.stats();
  const placed = peers.reduce((s, p) => s + p.theyStoreForMe, 0);
  return {
    settings,
    offer: { offered: st.offered, usedByOthers: [...c.store.usageByOwner().entries()].filter(([o]) => o !== c.self).reduce((s, [, v]) => s + v, 0) },
    use: { placed, peers: peers.filter((p) => p.theyStoreForMe > 0).length },
    peers
  };
}
