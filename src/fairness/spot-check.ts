// Spot checks of what I placed on a peer: for a sample of my placements there, the peer must prove it holds
// the share (src/client/prove.ts): its trailer must match the pack cap (kept with the placement) and
// a block challenged with a fresh nonce must hash up to the share's root. A LIST that names the share and a
// byte of it prove nothing (any peer can make both up), so neither is asked.
// Each proof is one audit in the ledger; a failed one drops that placement (it no longer counts as stored for
// me). A placement without a verify cap (recorded before audits existed) cannot be proven and is dropped
// uncounted. An unreachable peer is not a failed audit (uptime tells that story).
import { parseCap, type PackCap } from '../caps/index.ts';
import { proveShare, type ProveServer } from '../client/prove.ts';
import type { FairnessLedger, Placement } from './ledger.ts';
import { SPOT_CHECK_SAMPLES } from './constants.ts';

export type SpotCheckServer = Omit<ProveServer, 'id'>;

export interface SpotCheckResult {
  peer: string;
  checked: number;
  missing: Placement[];
  ok: boolean | null;
  error?: string;
}

export interface SpotCheckOptions {
  samples?: number;
  signal?: AbortSignal;
  random?: () => number;
}

/** Audit `peer`; records every proof in the ledger (none when nothing was checked or the peer was unreachable). */
export async function spotCheck(ledger: FairnessLedger, peer: string, server: SpotCheckServer, o: SpotCheckOptions = {}): Promise<SpotCheckResult> {
  const all = ledger.placementsOn(peer);
  const rnd = o.random ?? Math.random;
  const sample = all
    .map((p) => ({ p, k: rnd() }))
    .sort((a, b) => a.k - b.k)
    .slice(0, o.samples ?? SPOT_CHECK_SAMPLES)
    .map((x) => x.p);
  if (!sample.length) return { peer, checked: 0, missing: [], ok: null };
  const missing: Placement[] = [];
  const outcomes: { p: Placement; ok: boolean; reason?: string }[] = [];
  for (const p of sample) {
    o.signal?.throwIfAborted();
    const vcap = p.verifyCap ? verifyCapOf(p.verifyCap) : null;
    if (!vcap) {
      await ledger.forgetPlacement(peer, p.siHex, p.shareNum);
      continue;
    }
    const r = await proveShare({ id: peer, ...server }, vcap, p.shareNum, p.size, { signal: o.signal });
    // Unreachable: stop here, record nothing (this is not evidence of a lost share).
    if (!r.ok && r.unreachable) return { peer, checked: 0, missing: [], ok: null, error: r.reason };
    outcomes.push(r.ok ? { p, ok: true } : { p, ok: false, reason: r.reason });
  }
  for (const x of outcomes) {
    await ledger.recordAudit(peer, x.ok, x.ok ? undefined : `share ${x.p.shareNum} of ${x.p.siHex} not proven: ${x.reason}`);
    if (!x.ok) {
      missing.push(x.p);
      await ledger.forgetPlacement(peer, x.p.siHex, x.p.shareNum);
    }
  }
  if (!outcomes.length) return { peer, checked: 0, missing: [], ok: null };
  return { peer, checked: outcomes.length, missing, ok: missing.length === 0 };
}

function verifyCapOf(text: string): PackCap | null {
  try {
    const c = parseCap(text);
    return c.type === 'pack' ? c : null;
  } catch {
    return null;
  }
}
