// The status report of a running peer (GET /api/status, `p2pbackup status`): identity, addresses, storage
// offered and used, how others reach it (src/net/reachability.ts), folders, and one-line summaries of fair
// sharing and of the health loop.
import type { StatusReport } from '../api/service.ts';
import type { FairnessReport } from '../fairness/index.ts';
import type { FolderRecord } from '../backup/journal.ts';
import type { HealthService } from './health.ts';
import type { ReachabilityReport } from '../net/index.ts';

export interface StatusParts {
  peerId: string;
  home: string;
  addresses: string[];
  peersConnected: number;
  storage: { offered: number; used: number; shares: number };
  apiUrl: string;
  encoding: { k: number; n: number; happy: number };
  privateSwarm: boolean;
  readOnly: boolean;
  folders: FolderRecord[];
  fairness: FairnessReport;
  health: HealthService | null;
  reachability: ReachabilityReport | null;
}

export function statusReport(p: StatusParts): StatusReport {
  return {
    peerId: p.peerId,
    home: p.home,
    addresses: p.addresses,
    peersConnected: p.peersConnected,
    storage: p.storage,
    api: { url: p.apiUrl },
    encoding: p.encoding,
    privateSwarm: p.privateSwarm,
    readOnly: p.readOnly,
    folders: p.folders.map((f) => ({
      path: f.path,
      state: f.state,
      watch: f.watch,
      lastSnapshot: f.lastSnapshot ?? null,
      pending: f.pending,
      lastError: f.lastError ?? null
    })),
    fairness: fairnessSummary(p.fairness),
    reachability: p.reachability,
    ...(p.health ? { health: healthSummary(p.health) } : {})
  };
}

/** The status line's fairness summary. */
function fairnessSummary(r: FairnessReport): NonNullable<StatusReport['fairness']> {
  return {
    enabled: r.settings.enabled,
    offered: r.offer.offered,
    usedByOthers: r.offer.usedByOthers,
    placedOnOthers: r.use.placed,
    peers: r.peers.length,
    failedAudits: r.peers.filter((p) => p.standing === 'failed').length
  };
}

function healthSummary(h: HealthService): NonNullable<StatusReport['health']> {
  const s = h.state();
  return {
    lastRun: s.lastRun?.finishedAt ?? null,
    filesTracked: s.tracked,
    repaired: s.totals.repaired,
    durability: s.durability,
    snapshots: s.snapshots.map((x) => ({ folder: x.folder, cap: x.cap, durability: x.durability }))
  };
}
