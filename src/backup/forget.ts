// Retention, with restic's semantics: walk the snapshots newest first; each rule (last, hourly, daily,
// weekly, monthly, yearly) keeps a snapshot when it is the newest of a bucket the rule has not seen yet,
// until the rule has kept its count (-1: unlimited). Buckets use local time; weeks are ISO weeks.
// A policy with no rule keeps everything (restic refuses to guess). forgetPolicy is pure; forget() moves
// the folder head. Forgetting deletes nothing: storage is reclaimed by prune (`forget --prune`), which takes
// the forgotten blobs out of the index and deletes their packs (until then the index names them, and the
// health loop renews their leases: docs/HEALTH.md).
import { HeadConflictError } from './errors.ts';
import { listSnapshots } from './snapshots.ts';
import type { HeadSnapshot, HeadStore } from './types.ts';

export interface ForgetPolicy {
  keepLast?: number;
  keepHourly?: number;
  keepDaily?: number;
  keepWeekly?: number;
  keepMonthly?: number;
  keepYearly?: number;
}

export interface KeptSnapshot extends HeadSnapshot {
  /** Rules that kept it ('last', 'daily', …). */
  reasons: string[];
}

export interface ForgetDecision {
  /** Newest first. */
  keep: KeptSnapshot[];
  /** Newest first. */
  remove: HeadSnapshot[];
}

function isoWeek(d: Date): number {
  // ISO 8601: weeks start on Monday; the week holding the year's first Thursday is week 1. The local
  // calendar date is taken, then counted in UTC so DST changes cannot shift a day.
  const t = new Date(Date.UTC(d.getFullYear(), d.getMonth(), d.getDate()));
  t.setUTCDate(t.getUTCDate() + 3 - ((t.getUTCDay() + 6) % 7)); // Thursday of this week decides the year
  const jan4 = new Date(Date.UTC(t.getUTCFullYear(), 0, 4));
  const week = 1 + Math.round(((t.getTime() - jan4.getTime()) / 86_400_000 - 3 + ((jan4.getUTCDay() + 6) % 7)) / 7);
  return t.getUTCFullYear() * 100 + week;
}

const BUCKETS: { rule: keyof ForgetPolicy; reason: string; key: (d: Date, s: HeadSnapshot) => string | number }[] = [
  { rule: 'keepLast', reason: 'last', key: (_d, s) => `${s.time}:${s.cap}` },
  { rule: 'keepHourly', reason: 'hourly', key: (d) => ((d.getFullYear() * 100 + d.getMonth() + 1) * 100 + d.getDate()) * 100 + d.getHours() },
  { rule: 'keepDaily', reason: 'daily', key: (d) => (d.getFullYear() * 100 + d.getMonth() + 1) * 100 + d.getDate() },
  { rule: 'keepWeekly', reason: 'weekly', key: (d) => isoWeek(d) },
  { rule: 'keepMonthly', reason: 'monthly', key: (d) => d.getFullYear() * 100 + d.getMonth() + 1 },
  { rule: 'keepYearly', reason: 'yearly', key: (d) => d.getFullYear() }
];

export function forgetPolicy(snapshots: readonly HeadSnapshot[], policy: ForgetPolicy): ForgetDecision {
  const newestFirst = listSnapshots({ snapshots: [...snapshots] }).reverse();
  const rules = BUCKETS.map((b) => ({ ...b, left: policy[b.rule] ?? 0, last: null as string | number | null })).filter((r) => r.left !== 0);
  if (rules.length === 0) return { keep: newestFirst.map((s) => ({ ...s, reasons: ['no policy'] })), remove: [] };
  const out: ForgetDecision = { keep: [], remove: [] };
  for (const s of newestFirst) {
    const d = new Date(s.time);
    const reasons: string[] = [];
    for (const r of rules) {
      if (r.left === 0) continue;
      const k = r.key(d, s);
      if (k !== r.last) {
        r.last = k;
        if (r.left > 0) r.left--;
        reasons.push(r.reason);
      }
    }
    if (reasons.length) out.keep.push({ ...s, reasons });
    else out.remove.push(s);
  }
  return out;
}

/** Apply a policy to the folder head: write a head without the removed snapshots (retrying on conflicts). */
export async function forget(heads: HeadStore, policy: ForgetPolicy, opts: { retries?: number } = {}): Promise<ForgetDecision> {
  for (let attempt = 0; ; attempt++) {
    const cur = await heads.read();
    const decision = forgetPolicy(cur?.head.snapshots ?? [], policy);
    if (!cur || decision.remove.length === 0) return decision;
    try {
      await heads.write(
        { ...(cur.head.repo ? { repo: cur.head.repo } : {}), snapshots: listSnapshots({ snapshots: decision.keep.map(({ cap, time }) => ({ cap, time })) }) },
        cur.seq
      );
      return decision;
    } catch (err) {
      if (!(err instanceof HeadConflictError) || attempt >= (opts.retries ?? 3)) throw err;
    }
  }
}
