// Audits: a peer holding shares must prove it still has them. For each listed (peer, share) the auditor
// (the owner or any verify-cap holder) sends AUDIT {share, random segment, random 32-byte nonce}; the holder
// answers with the block, its leaf hash, its Merkle path and H("p2pb:v1:audit", nonce, block). The auditor
// checks the block against the share root (roots list -> UEB -> cap), so a peer that lost the block cannot
// pass. Failed or missing answers count against the peer in the ledger (HOME/audits, LevelDB), which also
// keeps each peer's availability samples for the durability estimate (docs/HEALTH.md).
// const ledger = await AuditLedger.open(join(home, 'audits')); await auditFile(cap, finder, { ledger });
import { storageIndexOf } from '../caps/index.ts';
import { randomBytes } from 'node:crypto';
import { Level } from 'level';
import { checkAuditAnswer, segmentBlockSize, ShareReader, AUDIT_NONCE_BYTES } from '../format/index.ts';
import { PeerUnreachableError } from '../common/errors.ts';
import { immutableCap } from './check.ts';
import { locate, sourceOf, type Located } from './locate.ts';
import { deadline, timedOut } from './util.ts';
import type { ServerFinder } from './types.ts';

const AUDIT_TIMEOUT_MS = 10_000;
/** Availability samples kept per peer (one per health round): the window of the durability estimate. */
export const AVAILABILITY_WINDOW = 200;

export interface PeerAuditStats {
  passes: number;
  failures: number;
  /** Last time the peer answered anything (ms since epoch), 0 if never. */
  lastSeen: number;
  lastFailure: number;
  lastFailureReason?: string;
  /** Availability samples, oldest first: '1' connected, '0' not (at most AVAILABILITY_WINDOW). */
  samples: string;
}

const EMPTY: PeerAuditStats = { passes: 0, failures: 0, lastSeen: 0, lastFailure: 0, samples: '' };

/** Told of every audit result once it is in the ledger (the peer feeds it to its fairness ledger too). */
export type AuditHook = (peer: string, ok: boolean, reason?: string, share?: { siHex: string; shareNum: number }) => Promise<void> | void;

export interface AuditLedgerOptions {
  now?: () => number;
  /** Called after each recordAudit has been written; recordAudit resolves once it has run. */
  onAudit?: AuditHook;
}

/** Per-peer audit results and availability, read later by the fairness layer (auditStats()). */
export class AuditLedger {
  private readonly db: Level<string, PeerAuditStats>;
  private chain: Promise<unknown> = Promise.resolve();
  private readonly now: () => number;
  private readonly onAudit: AuditHook | undefined;

  private constructor(db: Level<string, PeerAuditStats>, o: AuditLedgerOptions) {
    this.db = db;
    this.now = o.now ?? Date.now;
    this.onAudit = o.onAudit;
  }

  static async open(path: string, o: AuditLedgerOptions = {}): Promise<AuditLedger> {
    const db = new Level<string, PeerAuditStats>(path, { valueEncoding: 'json' });
    await db.open();
    return new AuditLedger(db, o);
  }

  /** Serialized read-modify-write of one peer's record. */
  private update(peer: string, f: (s: PeerAuditStats) => void): Promise<PeerAuditStats> {
    const run = this.chain.then(async () => {
      const s = { ...EMPTY, ...(await this.db.get(`p!${peer}`).catch(() => undefined)) };
      f(s);
      await this.db.put(`p!${peer}`, s);
      return s;
    });
    this.chain = run.catch(() => {});
    return run;
  }

  /** `share` says which share the audit was about (passed on to the hook: the fairness layer drops a failed placement). */
  async recordAudit(peer: string, ok: boolean, reason?: string, share?: { siHex: string; shareNum: number }): Promise<PeerAuditStats> {
    const t = this.now();
    const s = await this.update(peer, (s) => {
      if (ok) {
        s.passes++;
        s.lastSeen = t;
      } else {
        s.failures++;
        s.lastFailure = t;
        s.lastFailureReason = reason?.slice(0, 200);
      }
    });
    await this.onAudit?.(peer, ok, reason, share);
    return s;
  }

  recordAvailability(peer: string, up: boolean): Promise<PeerAuditStats> {
    const t = this.now();
    return this.update(peer, (s) => {
      s.samples = (s.samples + (up ? '1' : '0')).slice(-AVAILABILITY_WINDOW);
      if (up) s.lastSeen = t;
    });
  }

  async auditStats(): Promise<Record<string, PeerAuditStats & { availability: number }>> {
    await this.chain;
    const out: Record<string, PeerAuditStats & { availability: number }> = {};
    for await (const [key, s] of this.db.iterator({ gte: 'p!', lt: 'p"' })) out[key.slice(2)] = { ...EMPTY, ...s, availability: availabilityOf(s.samples) };
    return out;
  }

  async close(): Promise<void> {
    await this.chain;
    await this.db.close();
  }
}

/** Laplace-smoothed share of up samples: an unknown peer counts as 0.5, one seen up 9 of 10 times as 10/12. */
export function availabilityOf(samples: string | undefined): number {
  const s = samples ?? '';
  const up = [...s].filter((c) => c === '1').length;
  return (up + 1) / (s.length + 2);
}

export interface AuditResult {
  peer: string;
  shareNum: number;
  ok: boolean;
  segment?: number;
  reason?: string;
}

export interface AuditOptions {
  ledger?: Pick<AuditLedger, 'recordAudit'>;
  /** Holders found by a previous check: a reachable peer that no longer lists its share fails. */
  expected?: Record<string, string[]>;
  /** Audit at most this many (peer, share) pairs, chosen at random (default all). */
  maxPairs?: number;
  signal?: AbortSignal;
  loc?: Located;
}

/** Audit the holders of one file; every result is also recorded in the ledger when one is given. */
export async function auditFile(capText: string, finder: ServerFinder, o: AuditOptions = {}): Promise<AuditResult[]> {
  const ic = immutableCap(capText);
  if (!ic) return [];
  const { k, n, size, uebHash } = ic.verify;
  const si = storageIndexOf(ic.verify)!;
  const loc = o.loc ?? (await locate(si, finder, n, o.signal));
  const results: AuditResult[] = [];
  // Share roots and geometry from any share that opens (they are the same in all, checked against the cap).
  let reader: ShareReader | null = null;
  for (const p of loc.pairs) {
    const r = new ShareReader(sourceOf(loc, p.peer, p.shareNum, p.size, o.signal), { storageIndex: si, uebHash, k, n, size });
    try {
      await r.open(o.signal);
      reader = r;
      break;
    } catch {
      o.signal?.throwIfAborted();
    }
  }
  const listed = new Set(loc.pairs.map((p) => `${p.peer}/${p.shareNum}`));
  for (const [share, peers] of Object.entries(o.expected ?? {})) {
    for (const peer of peers) {
      if (!listed.has(`${peer}/${share}`) && loc.servers.has(peer) && !loc.unreachable.includes(peer)) {
        results.push({ peer, shareNum: Number(share), ok: false, reason: 'share no longer listed' });
      }
    }
  }
  let pairs = [...loc.pairs];
  if (o.maxPairs !== undefined && pairs.length > o.maxPairs) pairs = pairs.sort(() => Math.random() - 0.5).slice(0, o.maxPairs);
  if (reader) {
    const g = reader.geometry!;
    await Promise.all(
      pairs.map(async (p) => {
        const server = loc.servers.get(p.peer)!;
        if (!server.audit) return;
        const segment = Math.floor(Math.random() * g.numSegments);
        const nonce = randomBytes(AUDIT_NONCE_BYTES);
        const signal = deadline(o.signal, AUDIT_TIMEOUT_MS);
        try {
          const a = await server.audit(si, p.shareNum, segment, nonce, { signal });
          const why = checkAuditAnswer(a, { root: reader!.shareRoots[p.shareNum], segment, leaves: g.leaves, blockSize: segmentBlockSize(g, segment), nonce });
          results.push(
            why ? { peer: p.peer, shareNum: p.shareNum, ok: false, segment, reason: why } : { peer: p.peer, shareNum: p.shareNum, ok: true, segment }
          );
        } catch (e) {
          o.signal?.throwIfAborted();
          // An unreachable peer is an availability matter (sampled separately), not a failed proof.
          if (e instanceof PeerUnreachableError) return;
          results.push({
            peer: p.peer,
            shareNum: p.shareNum,
            ok: false,
            segment,
            reason: timedOut(signal) ? `timed out after ${AUDIT_TIMEOUT_MS} ms` : (e as Error).message
          });
        }
      })
    );
  }
  const siHex = Buffer.from(si).toString('hex');
  for (const r of results) await o.ledger?.recordAudit(r.peer, r.ok, r.reason, { siHex, shareNum: r.shareNum });
  return results;
}
