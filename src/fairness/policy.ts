// The admission policy of the symmetric scheme: a storage peer S accepts a new share from requester R
// only while   storedFor(R) + reserved(R) + size  <=  ratio × theyStoreForMe(R) + grace,
// where storedFor(R) comes from S's share store (records owned by R) and theyStoreForMe(R) from S's
// ledger (what S's own client placed on R, still leased and not caught missing). A peer in failed standing
// (its audit failure score, ledger.ts) has no allowance at all (no grace, no credit) until it recovers.
import type { AcceptDecision, AdmissionPolicy, AdmissionRequest } from '../store/index.ts';
import { formatSize } from '../store/index.ts';
import type { FairnessLedger } from './ledger.ts';

export interface FairnessSettings {
  enabled: boolean;
  /** Bytes I store for a peer per byte it stores for me. */
  ratio: number;
  /** Bytes I store for any peer beyond the ratio (newcomers bootstrap on it). */
  graceBytes: number;
}

export interface PolicyComponents {
  ledger: Pick<FairnessLedger, 'theyStoreForMe' | 'standing' | 'audit' | 'failureScore'>;
  /** What my store holds (and has reserved) for `owner`: DiskStore.ownerUsage. */
  usage: (owner: string) => { used: number; reserved: number };
}

export interface Allowance {
  /** Bytes I store for them (committed + being written). */
  storedForThem: number;
  theyStoreForMe: number;
  /** ratio × theyStoreForMe + grace, or 0 in bad standing. */
  limit: number;
  /** limit − storedForThem (may be negative after a failed audit). */
  headroom: number;
}

export function allowance(c: PolicyComponents, s: FairnessSettings, peer: string): Allowance {
  const u = c.usage(peer);
  const storedForThem = u.used + u.reserved;
  const theyStoreForMe = c.ledger.theyStoreForMe(peer);
  const limit = c.ledger.standing(peer) === 'failed' ? 0 : s.ratio * theyStoreForMe + s.graceBytes;
  return { storedForThem, theyStoreForMe, limit, headroom: limit - storedForThem };
}

export function createAdmissionPolicy(c: PolicyComponents, s: FairnessSettings): AdmissionPolicy {
  return (req: AdmissionRequest): AcceptDecision => {
    if (!s.enabled) return { ok: true };
    const a = allowance(c, s, req.owner);
    if (c.ledger.standing(req.owner) === 'failed') {
      const au = c.ledger.audit(req.owner);
      return {
        ok: false,
        reason: 'policy',
        message: `fairness: you failed storage audits${au.lastFailure ? ` (last ${new Date(au.lastFailure).toISOString()})` : ''}, failure score ${c.ledger.failureScore(req.owner).toFixed(2)}; no allowance until it falls below the limit (I store ${formatSize(a.storedForThem)} for you)`
      };
    }
    if (a.storedForThem + req.size <= a.limit) return { ok: true };
    return {
      ok: false,
      reason: 'policy',
      message: `fairness: you store ${formatSize(a.theyStoreForMe)} for me; I store ${formatSize(a.storedForThem)} for you (limit ${s.ratio} x + ${formatSize(s.graceBytes)} grace = ${formatSize(a.limit)}; this share needs ${formatSize(req.size)})`
    };
  };
}
