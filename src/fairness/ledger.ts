// The fairness ledger: one account per remote peer, persisted in LevelDB (HOME/fairness.leveldb).
// It keeps what this peer's client placed on each remote peer (its leases: bytes they store for me),
// audit outcomes and the uptime seen. What this peer stores for them is not duplicated here: the
// share store's own index knows it (DiskStore.ownerUsage), so the two can never drift apart.
//
// Keys: 'p!<peer>!<si hex>!<share>' -> Placement, 'a!<peer>' -> AuditRecord, 'u!<peer>' -> UptimeRecord.
// Everything is loaded into memory at open (an account per peer, a record per placed share) so the
// admission policy answers synchronously; writes go to LevelDB before the call returns. Placement writes made
// in the same tick (an upload credits its n shares at once) go to LevelDB as one batch.
import { Level } from 'level';
import { shareCharge } from '../store/index.ts';
import { FAILED_STANDING_SCORE, FAILURE_HALF_LIFE_MS, PASS_CREDIT } from './constants.ts';

export interface Placement {
  peer: string;
  siHex: string;
  shareNum: number;
  size: number;
  leaseExpiry: number;
  placed: number;
  /** The file's verify cap: what a spot check proves the share against. Absent in ledgers older than audits. */
  verifyCap?: string;
}

export interface AuditRecord {
  ok: number;
  failed: number;
  /** Failures since the last passed audit (shown to the user; standing rests on `score`). */
  consecutiveFailures: number;
  /** Failure score at `scoreAt` (+1 per failure, −PASS_CREDIT per pass, halved every FAILURE_HALF_LIFE_MS). */
  score: number;
  scoreAt: number;
  lastOk: number | null;
  lastFailure: number | null;
  lastError: string | null;
}

export interface UptimeRecord {
  firstSeen: number;
  lastSeen: number;
  /** Total time connected, ms (the current connection included once it ends). */
  connectedMs: number;
}

/** good: no audit failures, or few enough and long enough ago; failed: its failure score is at least FAILED_STANDING_SCORE. */
export type Standing = 'good' | 'failed';

export interface LedgerOptions {
  now?: () => number;
}

type Value = Placement | AuditRecord | UptimeRecord;
const pKey = (peer: string, siHex: string, shareNum: number) => `p!${peer}!${siHex}!${String(shareNum).padStart(3, '0')}`;

const emptyAudit = (): AuditRecord => ({ ok: 0, failed: 0, consecutiveFailures: 0, score: 0, scoreAt: 0, lastOk: null, lastFailure: null, lastError: null });

/** A failure score at `at`, decayed from the one recorded at `scoreAt`. */
export function decayedScore(a: Pick<AuditRecord, 'score' | 'scoreAt'>, at: number): number {
  if (!a.score) return 0;
  return a.score * 0.5 ** (Math.max(0, at - a.scoreAt) / FAILURE_HALF_LIFE_MS);
}

export class FairnessLedger {
  private readonly db: Level<string, Value>;
  private readonly now: () => number;
  private readonly placements = new Map<string, Map<string, Placement>>();
  private readonly audits = new Map<string, AuditRecord>();
  private readonly uptime = new Map<string, UptimeRecord>();
  private readonly connectedSince = new Map<string, number>();
  /**
   * theyStoreForMe per peer with placements, as summed at `at`: valid until `until` (no counted lease ends
   * earlier). Placement candidates are ranked by it for every pack an upload places, and every pack places a share
   * on each of them: summing a peer's placements each time made a backup's ranking grow with everything placed
   * before it. So a change of a placement adjusts the sum (adjustCredit) instead of dropping it.
   */
  private readonly credit = new Map<string, { sum: number; at: number; until: number }>();
  /** Placement writes (null: a delete) waiting for this tick's batch, and that batch's outcome. */
  private pending: { ops: Map<string, Placement | null>; written: Promise<void> } | null = null;

  private constructor(db: Level<string, Value>, o: LedgerOptions) {
    this.db = db;
    this.now = o.now ?? Date.now;
  }

  static async open(path: string, o: LedgerOptions = {}): Promise<FairnessLedger> {
    const db = new Level<string, Value>(path, { valueEncoding: 'json' });
    await db.open();
    const l = new FairnessLedger(db, o);
    for await (const [key, v] of db.iterator()) {
      if (key.startsWith('p!')) l.placementsOf((v as Placement).peer).set(key, v as Placement);
      else if (key.startsWith('a!')) l.audits.set(key.slice(2), { ...emptyAudit(), ...(v as AuditRecord) });
      else if (key.startsWith('u!')) l.uptime.set(key.slice(2), v as UptimeRecord);
    }
    return l;
  }

  private placementsOf(peer: string): Map<string, Placement> {
    let m = this.placements.get(peer);
    if (!m) this.placements.set(peer, (m = new Map()));
    return m;
  }

  /** My client wrote share `shareNum` of `siHex` on `peer`, or `peer` proved it holds it (an `exists` answer). Idempotent. */
  async recordPlacement(peer: string, siHex: string, shareNum: number, size: number, leaseExpiry: number, verifyCap?: string): Promise<void> {
    const key = pKey(peer, siHex, shareNum);
    const prev = this.placementsOf(peer).get(key);
    const vc = verifyCap ?? prev?.verifyCap;
    const p: Placement = {
      peer,
      siHex,
      shareNum,
      size,
      leaseExpiry: Math.max(leaseExpiry, prev?.leaseExpiry ?? 0),
      placed: prev?.placed ?? this.now(),
      ...(vc ? { verifyCap: vc } : {})
    };
    this.placementsOf(peer).set(key, p);
    this.adjustCredit(peer, prev, p);
    await this.writePlacements([[key, p]]);
  }

  /**
   * Keep peer's memoized credit (if any) right across one placement change: `prev` replaced by `next` (either
   * absent). A placement counts in the memo when its lease runs past the memo's `at`; `until` may only come closer
   * (an earlier end means an earlier sum again, never a wrong one).
   */
  private adjustCredit(peer: string, prev: Placement | undefined, next: Placement | undefined): void {
    const c = this.credit.get(peer);
    if (!c) return;
    if (prev && prev.leaseExpiry > c.at) c.sum -= shareCharge(prev.size);
    if (next && next.leaseExpiry > c.at) {
      c.sum += shareCharge(next.size);
      c.until = Math.min(c.until, next.leaseExpiry);
    }
  }

  /**
   * Write placement records (null: delete), together with every other placement write of this tick: one LevelDB
   * batch holding each key's last write. Resolves once that batch is written.
   */
  private writePlacements(ops: [string, Placement | null][]): Promise<void> {
    if (!this.pending) {
      const batch = new Map<string, Placement | null>();
      const written = Promise.resolve().then(() => {
        this.pending = null;
        return this.db.batch([...batch].map(([key, value]) => (value ? { type: 'put' as const, key, value } : { type: 'del' as const, key })));
      });
      this.pending = { ops: batch, written };
    }
    for (const [key, value] of ops) this.pending.ops.set(key, value); // a key's last write wins; keys apart commute
    return this.pending.written;
  }

  /** A lease on `peer` was renewed until `until` (for the renewal loop): every placement of `siHex` there follows. */
  async recordRenewal(peer: string, siHex: string, until: number): Promise<void> {
    const ops: [string, Placement][] = [];
    for (const [key, p] of this.placementsOf(peer)) {
      if (p.siHex === siHex && until > p.leaseExpiry) {
        const q = { ...p, leaseExpiry: until };
        this.placementsOf(peer).set(key, q);
        this.adjustCredit(peer, p, q);
        ops.push([key, q]);
      }
    }
    if (ops.length) await this.writePlacements(ops);
  }

  /** The share is gone from `peer` (deleted by me, or found missing): it no longer counts as stored for me. */
  async forgetPlacement(peer: string, siHex: string, shareNum: number): Promise<void> {
    const key = pKey(peer, siHex, shareNum);
    const prev = this.placementsOf(peer).get(key);
    if (!prev) return;
    this.placementsOf(peer).delete(key);
    this.adjustCredit(peer, prev, undefined);
    await this.writePlacements([[key, null]]);
  }

  /**
   * Same meaning as the health engine's recordAudit(peer, ok): one audit of `peer` passed or failed. A pass
   * only takes PASS_CREDIT off the failure score: it cannot wipe out a failure (constants.ts).
   */
  async recordAudit(peerId: string, ok: boolean, error?: string): Promise<AuditRecord> {
    const a = { ...(this.audits.get(peerId) ?? emptyAudit()) };
    const t = this.now();
    const score = decayedScore(a, t);
    if (ok) {
      a.ok++;
      a.consecutiveFailures = 0;
      a.lastOk = t;
      a.score = Math.max(0, score - PASS_CREDIT);
    } else {
      a.failed++;
      a.consecutiveFailures++;
      a.lastFailure = t;
      a.lastError = error ?? null;
      a.score = score + 1;
    }
    a.scoreAt = t;
    this.audits.set(peerId, a);
    await this.db.put(`a!${peerId}`, a);
    return a;
  }

  peerConnected(peer: string): void {
    const t = this.now();
    if (!this.connectedSince.has(peer)) this.connectedSince.set(peer, t);
    const u = this.uptime.get(peer) ?? { firstSeen: t, lastSeen: t, connectedMs: 0 };
    this.uptime.set(peer, { ...u, lastSeen: t });
  }

  async peerDisconnected(peer: string): Promise<void> {
    const since = this.connectedSince.get(peer);
    if (since === undefined) return;
    this.connectedSince.delete(peer);
    const t = this.now();
    const u = this.uptime.get(peer) ?? { firstSeen: since, lastSeen: t, connectedMs: 0 };
    const next = { ...u, lastSeen: t, connectedMs: u.connectedMs + (t - since) };
    this.uptime.set(peer, next);
    await this.db.put(`u!${peer}`, next);
  }

  /**
   * Bytes `peer` stores for me, its credit: my live placements there (leases not expired), or nothing while it
   * is in failed standing. A spot check samples a few placements and drops those it disproves; the ones it did
   * not sample are no more believable from a peer caught forging, so none of them earns credit until its
   * standing is good again (they stay listed: placementsOn).
   */
  theyStoreForMe(peer: string, now = this.now()): number {
    if (this.standing(peer) === 'failed') return 0;
    const c = this.credit.get(peer);
    if (c && c.at <= now && now < c.until) return c.sum;
    const mine = this.placements.get(peer);
    if (!mine?.size) return 0; // no memo for a peer I placed nothing on (any peer that asks to store is asked about)
    let sum = 0;
    let until = Infinity;
    for (const p of mine.values())
      if (p.leaseExpiry > now) {
        sum += shareCharge(p.size);
        until = Math.min(until, p.leaseExpiry);
      }
    this.credit.set(peer, { sum, at: now, until });
    return sum;
  }

  /** My live placements on `peer` (a copy). */
  placementsOn(peer: string, now = this.now()): Placement[] {
    return [...(this.placements.get(peer)?.values() ?? [])].filter((p) => p.leaseExpiry > now);
  }

  audit(peer: string): AuditRecord {
    return { ...(this.audits.get(peer) ?? emptyAudit()) };
  }

  standing(peer: string): Standing {
    const a = this.audits.get(peer);
    return a && decayedScore(a, this.now()) >= FAILED_STANDING_SCORE ? 'failed' : 'good';
  }

  /** The failure score now (0 with no failures). */
  failureScore(peer: string): number {
    const a = this.audits.get(peer);
    return a ? decayedScore(a, this.now()) : 0;
  }

  /** Laplace estimate of passing the next audit: (ok + 1) / (ok + failed + 2); 0.5 with no history. */
  reliability(peer: string): number {
    const a = this.audits.get(peer);
    return ((a?.ok ?? 0) + 1) / ((a?.ok ?? 0) + (a?.failed ?? 0) + 2);
  }

  /** Uptime seen, the current connection included. */
  uptimeOf(peer: string): UptimeRecord & { connected: boolean } {
    const t = this.now();
    const u = this.uptime.get(peer);
    const since = this.connectedSince.get(peer);
    if (!u) return { firstSeen: since ?? 0, lastSeen: since ?? 0, connectedMs: 0, connected: since !== undefined };
    return {
      ...u,
      lastSeen: since !== undefined ? t : u.lastSeen,
      connectedMs: u.connectedMs + (since !== undefined ? t - since : 0),
      connected: since !== undefined
    };
  }

  /** Every peer the ledger has an account for. */
  peers(): string[] {
    return [...new Set([...this.placements.keys(), ...this.audits.keys(), ...this.uptime.keys(), ...this.connectedSince.keys()])];
  }

  /** Drop placements whose lease expired (they no longer count). */
  async prune(now = this.now()): Promise<number> {
    const dead: [string, null][] = [];
    for (const [peer, m] of this.placements)
      for (const [key, p] of m)
        if (p.leaseExpiry <= now) {
          m.delete(key);
          this.adjustCredit(peer, p, undefined);
          dead.push([key, null]);
        }
    if (dead.length) await this.writePlacements(dead);
    return dead.length;
  }

  async close(): Promise<void> {
    for (const peer of [...this.connectedSince.keys()]) await this.peerDisconnected(peer).catch(() => {});
    await this.pending?.written.catch(() => {});
    await this.db.close();
  }
}
