// A light audit of my own: for a sample of what I placed on a peer, ask LIST and READ one byte of each
// sampled share. A share the peer no longer lists (or cannot read) is a failed audit; the placement is
// forgotten (it no longer counts as stored for me). This stands in for the health engine's audits
// (proofs over block hashes) until the two are merged: both report through recordAudit(peer, ok).
import type { FairnessLedger, Placement } from './ledger.ts';
import { SPOT_CHECK_SAMPLES } from './constants.ts';

export interface SpotCheckServer {
  list(si: Uint8Array, opts?: { signal?: AbortSignal }): Promise<{ shareNum: number; size: number }[]>;
  read(si: Uint8Array, shareNum: number, ranges: [number, number][], opts?: { signal?: AbortSignal }): Promise<Uint8Array[]>;
}

export interface SpotCheckResult { peer: string; checked: number; missing: Placement[]; ok: boolean | null; error?: string }

export interface SpotCheckOptions { samples?: number; signal?: AbortSignal; random?: () => number }

/** Audit `peer`; records the outcome in the ledger unless nothing was checked (ok: null) or the peer was unreachable. */
export async function spotCheck(ledger: FairnessLedger, peer: string, server: SpotCheckServer, o: SpotCheckOptions = {}): Promise<SpotCheckResult> {
  const all = ledger.placementsOn(peer);
  const rnd = o.random ?? Math.random;
  const sample = all.map((p) => ({ p, k: rnd() })).sort((a, b) => a.k - b.k).slice(0, o.samples ?? SPOT_CHECK_SAMPLES).map((x) => x.p);
  if (!sample.length) return { peer, checked: 0, missing: [], ok: null };
  const missing: Placement[] = [];
  const bySi = new Map<string, Placement[]>();
  for (const p of sample) bySi.set(p.siHex, [...(bySi.get(p.siHex) ?? []), p]);
  try {
    for (const [siHex, ps] of bySi) {
      const si = Uint8Array.from(Buffer.from(siHex, 'hex'));
      const listed = new Map((await server.list(si, { signal: o.signal })).map((x) => [x.shareNum, x.size]));
      for (const p of ps) {
        if (listed.get(p.shareNum) !== p.size) { missing.push(p); continue; }
        if (p.size === 0) continue;
        const off = Math.floor(rnd() * p.size);
        const ok = await server.read(si, p.shareNum, [[off, 1]], { signal: o.signal }).then((r) => r[0]?.byteLength === 1, () => false);
        if (!ok) missing.push(p);
      }
    }
  } catch (err) {
    // Unreachable is not a failed audit (uptime tells that story); a refusal to answer LIST is not either.
    return { peer, checked: 0, missing: [], ok: null, error: (err as Error).message };
  }
  for (const p of missing) await ledger.forgetPlacement(peer, p.siHex, p.shareNum);
  const ok = missing.length === 0;
  await ledger.recordAudit(peer, ok, ok ? undefined : `${missing.length} of ${sample.length} sampled shares missing`);
  return { peer, checked: sample.length, missing, ok };
}
