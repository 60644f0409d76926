// Leases from the owner's side: every share carries a lease (default 31 days, src/store constants) that only
// its uploader can extend (RENEW is bound to the Noise-authenticated peer). A renewal pass extends the leases of
// exactly the packs the owner's repository index names (src/repo: prune drops the others); anything else of ours expires and
// storage peers collect it after the grace period. Folder heads (mutable slots) have no owner: their lease is
// extended by putting the same signed record again with `leaseUntil` (docs/PROTOCOL.md "Mutable slots").
import { formatCap, parseCap, storageIndexOf } from '../caps/index.ts';
import { forEachLimit } from '../common/pool.ts';
import { deadline } from './util.ts';
import { fetchRecord } from './mutable.ts';
import type { ServerFinder } from './types.ts';

const RENEW_TIMEOUT_MS = 5_000;
const RENEW_CONCURRENCY = 4; // caps renewed at once

export interface LeaseOptions {
  /** New lease expiry, ms since epoch. */
  until: number;
  /** Known holders per cap (peer ids, e.g. from the last check); otherwise the 2n closest peers are asked. */
  holdersOf?: (cap: string) => string[] | undefined;
  signal?: AbortSignal;
}

export interface LeaseReport {
  caps: number;
  /** Shares whose lease was extended (ours only). */
  renewed: number;
  /** Caps for which no holder renewed anything (none of their shares is ours, or none is reachable). */
  none: string[];
  /**
   * Caps of `none` for which at least k peers were asked and every one answered, renewing nothing: no share of them
   * is ours any more there (a lapsed lease, collected). Not a cap some peer failed to answer for (it may hold it and
   * be out of reach), nor one too few peers were asked about.
   */
  lost: string[];
  failures: number;
}

export async function renewLeases(caps: Iterable<string>, finder: ServerFinder, o: LeaseOptions): Promise<LeaseReport> {
  // Pack caps only (what the swarm stores), each once.
  const list = [
    ...new Set(
      [...caps]
        .map((c) => parseCap(c))
        .filter((c) => c.type === 'pack')
        .map((c) => formatCap(c))
    )
  ];
  const report: LeaseReport = { caps: list.length, renewed: 0, none: [], lost: [], failures: 0 };
  await forEachLimit(list, RENEW_CONCURRENCY, async (cap) => {
    o.signal?.throwIfAborted();
    const c = parseCap(cap) as { k: number; n: number };
    const si = storageIndexOf(parseCap(cap))!;
    const known = o.holdersOf?.(cap);
    const servers = await finder.candidates(si, 2 * c.n, { signal: o.signal });
    const targets = known?.length ? servers.filter((s) => known.includes(s.id)) : servers;
    let renewed = 0;
    let answered = 0;
    let failed = 0;
    await Promise.all(
      targets.map(async (s) => {
        if (!s.renew) return;
        try {
          const got = await s.renew(si, 'all', o.until, { signal: deadline(o.signal, RENEW_TIMEOUT_MS) });
          renewed += got; // (not `renewed += await …`: that reads `renewed` before the await)
          answered++;
        } catch {
          failed++;
        }
      })
    );
    o.signal?.throwIfAborted(); // an abort is not an answer
    report.failures += failed;
    report.renewed += renewed;
    if (!renewed) report.none.push(cap);
    if (!renewed && answered >= c.k && failed === 0) report.lost.push(cap);
  });
  return report;
}

/** Extend the slot leases of folder heads (read or write caps): the newest record is put again with leaseUntil. */
export async function renewHeads(
  rootCaps: Iterable<string>,
  finder: ServerFinder,
  o: { until: number; signal?: AbortSignal }
): Promise<{ heads: number; renewed: number; failures: number }> {
  const out = { heads: 0, renewed: 0, failures: 0 };
  for (const cap of rootCaps) {
    o.signal?.throwIfAborted();
    out.heads++;
    const r = await fetchRecord(finder, cap, { signal: o.signal }).catch(() => null);
    if (!r) {
      out.failures++;
      continue;
    }
    const si = storageIndexOf(parseCap(cap))!;
    const servers = await finder.candidates(si, 10, { signal: o.signal });
    await Promise.all(
      servers
        .filter((s) => r.holders.includes(s.id))
        .map(async (s) => {
          try {
            await s.putSlot(si, r.record, { leaseUntil: o.until, signal: deadline(o.signal, RENEW_TIMEOUT_MS) });
            out.renewed++;
          } catch {
            out.failures++;
          }
        })
    );
  }
  return out;
}
