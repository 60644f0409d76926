// The fairness component as the peer composes it: the ledger, the admission policy for the share
// store, the placement ranking for the finder, the write guard and the spot-check loop.
import { DEFAULT_LEASE_MS, ShareRefusedError, type AdmissionPolicy } from '../store/index.ts';
import { FairnessLedger } from './ledger.ts';
import { allowance, createAdmissionPolicy, type FairnessSettings } from './policy.ts';
import { rankForPlacement, type RankInfo } from './rank.ts';
import { buildReport, type FairnessReport, type ReportComponents } from './report.ts';
import { spotCheck, type SpotCheckResult, type SpotCheckServer } from './spot-check.ts';

export type StoreUsage = ReportComponents['store'];

export interface FairnessInit {
  settings: FairnessSettings;
  /** LevelDB folder of the ledger. */
  ledgerPath: string;
  now?: () => number;
}

export interface Fairness {
  readonly ledger: FairnessLedger;
  readonly settings: FairnessSettings;
  /** For DiskStore.open({ policy }); consults the store given to attachStore. */
  readonly policy: AdmissionPolicy;
  /** The store is opened after the policy exists: bind it here before serving. */
  attachStore(store: StoreUsage): void;
  /** Reorder DHT-closest candidates (same set, new order); identity when disabled. */
  rank<T extends { id: string }>(candidates: T[]): T[];
  rankInfo(peer: string): RankInfo;
  /** Throws ShareRefusedError('policy') when my client must not give `peer` new shares (failed standing). */
  guardPlacement(peer: string): void;
  /** `peer` holds a share of mine: my client wrote it there, or `peer` proved it (an `exists` answer). */
  recordPlacement(peer: string, si: Uint8Array, shareNum: number, size: number, verifyCap: string, leaseExpiry?: number): Promise<void>;
  /** One audit of one of my shares on `peer` (upload claims, the health loop): a failure also drops that placement. */
  recordShareAudit(peer: string, si: Uint8Array | string, shareNum: number, ok: boolean, reason?: string): Promise<void>;
  /** A share of mine `peer` held is gone by my own doing (deleted by prune or repair). */
  forgetPlacement(peer: string, si: Uint8Array | string, shareNum: number): Promise<void>;
  report(self: string): FairnessReport;
  /** Spot-check every peer holding placements of mine. */
  checkAll(server: (peer: string) => SpotCheckServer, signal?: AbortSignal): Promise<SpotCheckResult[]>;
  close(): Promise<void>;
}

export async function createFairness(init: FairnessInit): Promise<Fairness> {
  const now = init.now ?? Date.now;
  const settings = { ...init.settings };
  const ledger = await FairnessLedger.open(init.ledgerPath, { now });
  let store: StoreUsage | null = null;
  const usage = (o: string) => store?.ownerUsage(o) ?? { used: 0, reserved: 0 };
  const policy = createAdmissionPolicy({ ledger, usage }, settings);
  const rankInfo = (peer: string): RankInfo => {
    const u = usage(peer);
    return {
      standing: ledger.standing(peer),
      reliability: ledger.reliability(peer),
      // Assume the peer runs the same settings as I do (the symmetric scheme's premise).
      predictedHeadroom: settings.ratio * (u.used + u.reserved) + settings.graceBytes - ledger.theyStoreForMe(peer)
    };
  };
  return {
    ledger,
    settings,
    policy,
    rankInfo,
    attachStore(s) {
      store = s;
    },
    rank(candidates) {
      return settings.enabled ? rankForPlacement(candidates, rankInfo) : candidates;
    },
    guardPlacement(peer) {
      if (!settings.enabled || ledger.standing(peer) !== 'failed') return;
      const a = ledger.audit(peer);
      throw new ShareRefusedError(
        'policy',
        `fairness: not placing new shares on ${peer}: it failed storage audits${a.lastError ? ` (last: ${a.lastError})` : ''}`,
        { peer }
      );
    },
    async recordPlacement(peer, si, shareNum, size, verifyCap, leaseExpiry = now() + DEFAULT_LEASE_MS) {
      await ledger.recordPlacement(peer, Buffer.from(si).toString('hex'), shareNum, size, leaseExpiry, verifyCap);
    },
    async recordShareAudit(peer, si, shareNum, ok, reason) {
      await ledger.recordAudit(peer, ok, reason);
      if (!ok) await ledger.forgetPlacement(peer, typeof si === 'string' ? si : Buffer.from(si).toString('hex'), shareNum);
    },
    async forgetPlacement(peer, si, shareNum) {
      await ledger.forgetPlacement(peer, typeof si === 'string' ? si : Buffer.from(si).toString('hex'), shareNum);
    },
    report(self) {
      if (!store) throw new Error('fairness: no store attached');
      return buildReport({ ledger, store, self }, settings);
    },
    async checkAll(server, signal) {
      const out: SpotCheckResult[] = [];
      for (const peer of ledger.peers()) {
        if (signal?.aborted) break;
        if (ledger.placementsOn(peer).length) out.push(await spotCheck(ledger, peer, server(peer), { signal }));
      }
      await ledger.prune();
      return out;
    },
    close: () => ledger.close()
  };
}

export { allowance };
