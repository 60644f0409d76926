// The daemon's health loop (docs/HEALTH.md), one round every `intervalMs`, never two at once:
// 1. Sample availability: every peer this one knows of is recorded up (connected) or down in the ledger.
// 2. Kept snapshots: every folder's head lists them; each snapshot's reachable caps are walked once and
//    cached (snapshots are immutable, so the set never changes).
// 3. Check up to `checksPerRound` files (LIST only, round robin over all of them: bounded cost per round);
//    a recoverable file below `repairThreshold` distinct hosts is repaired back to n on distinct hosts.
//    Peers that left for good simply stop listing: their files fall below the threshold and are re-placed.
// 4. Audit up to `auditsPerRound` random (peer, share) pairs; a file with a failed audit is repaired
//    (with verification, so lost or corrupt shares are rebuilt elsewhere).
// 5. Renew leases (at most every `renewEveryMs`) on every cap a kept snapshot needs, and the folder heads.
// 6. Durability per snapshot from the holders seen and the peers' availability.
// Separately, every `gcIntervalMs`, this peer's own store drops shares whose lease expired (plus grace).
// Logs name objects by storage index (capRef), never by cap: a read cap, or even a prefix of one (40
// characters carried about 147 key bits), in a log file would hand the data to whoever reads the log.
import type { Logger } from 'pino';
import { forEachLimit } from '../common/pool.ts';
import { parseCap, storageIndexOf } from '../caps/index.ts';
import {
  auditFile, checkFile, fileDurability, renewHeads, renewLeases, repairFile, snapshotDurability, availabilityOf,
  type AuditLedger, type FileCheckReport, type ServerFinder
} from '../client/index.ts';
import type { GcResult, ShareStore } from '../store/index.ts';
import type { HealthConfig } from './config.ts';
import type { FolderService } from './folders.ts';

const CHECK_CONCURRENCY = 4; // files checked (and repaired) at once

/**
 * What a log line may say about a cap: the storage index of the object it names (hex), a blob's kind and id prefix,
 * `literal` for a literal cap (its data is in the cap: nothing to name), `unparseable` for anything else.
 */
export function capRef(cap: string): string {
  try {
    const c = parseCap(cap);
    // A blob is named by its kind and the start of its id (an index key: it opens nothing).
    if (c.type === 'blob') return `${c.kind}:${Buffer.from(c.id).toString('hex').slice(0, 16)}`;
    const si = storageIndexOf(c);
    return si ? Buffer.from(si).toString('hex') : 'literal';
  } catch {
    return 'unparseable';
  }
}

export interface HealthInit {
  config: HealthConfig;
  encoding: { k: number; n: number; happy: number };
  finder: ServerFinder;
  store: Pick<ShareStore, 'gc'>;
  folders: FolderService | null;
  ledger: AuditLedger;
  /** Peer ids this node is connected to right now. */
  connected: () => string[];
  log?: Logger;
  now?: () => number;
}

interface FileState { holders: Record<string, string[]>; needed: number; found: number; hosts: number; happiness: number; recoverable: boolean; checkedAt: number }

export interface SnapshotHealth { folder: string; cap: string; objects: number; checked: number; durability: number | null; weakest: number | null }

export interface HealthState {
  enabled: boolean;
  running: boolean;
  rounds: number;
  lastRun: { startedAt: number; finishedAt: number; durationMs: number; filesChecked: number; repaired: number; repairFailed: number; auditsPassed: number; auditsFailed: number; error?: string } | null;
  totals: { filesChecked: number; repaired: number; auditsPassed: number; auditsFailed: number };
  /** Files not yet checked in the current pass over all tracked files. */
  queue: number;
  tracked: number;
  snapshots: SnapshotHealth[];
  /** Lowest snapshot durability (null before the first round). */
  durability: number | null;
  lastGc: (GcResult & { at: number }) | null;
  lastRenewal: { at: number; caps: number; renewed: number; heads: number } | null;
  config: HealthConfig & { repairThreshold: number };
}

export type HealthService = ReturnType<typeof createHealthService>;

export function createHealthService(init: HealthInit) {
  const { config, finder, ledger, log } = init;
  const now = init.now ?? Date.now;
  const threshold = config.repairThreshold ?? init.encoding.happy;
  const files = new Map<string, FileState>();
  const reachable = new Map<string, string[]>(); // snapshot cap -> caps it needs (immutable)
  let order: string[] = [];
  let cursor = 0;
  let lastRenew = 0;
  let timer: NodeJS.Timeout | null = null;
  let gcTimer: NodeJS.Timeout | null = null;
  let controller = new AbortController();
  let current: Promise<void> | null = null;
  const state: HealthState = {
    enabled: config.enabled, running: false, rounds: 0, lastRun: null,
    totals: { filesChecked: 0, repaired: 0, auditsPassed: 0, auditsFailed: 0 },
    queue: 0, tracked: 0, snapshots: [], durability: null, lastGc: null, lastRenewal: null,
    config: { ...config, repairThreshold: threshold }
  };

  const remember = (r: FileCheckReport) => {
    files.set(r.cap, { holders: r.holders, needed: r.needed, found: r.found, hosts: r.hosts, happiness: r.happiness, recoverable: r.recoverable, checkedAt: now() });
  };

  async function keptSnapshots(signal: AbortSignal): Promise<{ folder: string; rootCap: string; cap: string }[]> {
    if (!init.folders) return [];
    const out: { folder: string; rootCap: string; cap: string }[] = [];
    for (const f of await init.folders.listFolders()) {
      signal.throwIfAborted();
      try {
        const { snapshots } = await init.folders.snapshots(f.rootCap);
        for (const s of snapshots) out.push({ folder: f.path, rootCap: f.rootCap, cap: s.cap });
      } catch (err) {
        log?.warn({ folder: f.path, err: (err as Error).message }, 'health: cannot read folder head');
      }
    }
    return out;
  }

  async function round(): Promise<void> {
    const signal = controller.signal;
    const run = { startedAt: now(), finishedAt: 0, durationMs: 0, filesChecked: 0, repaired: 0, repairFailed: 0, auditsPassed: 0, auditsFailed: 0 } as NonNullable<HealthState['lastRun']>;
    state.running = true;
    try {
      // 1. availability
      const up = new Set(init.connected());
      const known = new Set([...up, ...Object.keys(await ledger.auditStats())]);
      for (const f of files.values()) for (const peers of Object.values(f.holders)) for (const p of peers) known.add(p);
      for (const p of known) await ledger.recordAvailability(p, up.has(p));

      // 2. what kept snapshots need
      const snaps = await keptSnapshots(signal);
      for (const s of snaps) {
        if (reachable.has(s.cap)) continue;
        try {
          reachable.set(s.cap, (await init.folders!.packsOf(s.cap, { signal })).packs);
        } catch (err) {
          signal.throwIfAborted();
          log?.warn({ folder: s.folder, err: (err as Error).message }, 'health: cannot walk a snapshot (its packs are not checked this round)');
        }
      }
      const all = [...new Set(snaps.flatMap((s) => reachable.get(s.cap) ?? []))];
      if (all.join('\n') !== order.join('\n')) { order = all; cursor = Math.min(cursor, order.length); }
      const wanted = new Set(all);
      for (const cap of [...files.keys()]) if (!wanted.has(cap)) files.delete(cap); // forgotten snapshots: stop tracking

      // 3. check a bounded slice, repair below the threshold
      if (cursor >= order.length) cursor = 0;
      const slice = order.slice(cursor, cursor + config.checksPerRound);
      cursor += slice.length;
      const repairOne = async (cap: string, why: string) => {
        try {
          const r = await repairFile(cap, finder, { signal });
          remember(r.after);
          // The loop's goal is the threshold, not n: with fewer live hosts than n, reaching it is a success.
          if (r.repaired || r.after.happiness >= threshold) run.repaired++; else run.repairFailed++;
          log?.info({ si: capRef(cap), why, placed: r.placed.length, deleted: r.deleted.length, before: r.before.happiness, after: r.after.happiness }, 'health: repaired');
        } catch (err) {
          signal.throwIfAborted();
          run.repairFailed++;
          log?.warn({ si: capRef(cap), err: (err as Error).message }, 'health: repair failed');
        }
      };
      await forEachLimit(slice, CHECK_CONCURRENCY, async (cap) => {
        try {
          const r = await checkFile(cap, finder, { signal });
          remember(r);
          run.filesChecked++;
          if (r.recoverable && r.verifyCap && r.happiness < threshold) await repairOne(cap, `happiness ${r.happiness} < ${threshold}`);
        } catch (err) {
          signal.throwIfAborted();
          log?.warn({ si: capRef(cap), err: (err as Error).message }, 'health: check failed');
        }
      });

      // 4. audits on random files, bounded by pairs
      let budget = config.auditsPerRound;
      const candidates = [...files.entries()].filter(([, f]) => f.found > 0).sort(() => Math.random() - 0.5);
      for (const [cap, f] of candidates) {
        if (budget <= 0) break;
        const pairs = Object.values(f.holders).reduce((a, p) => a + p.length, 0);
        const results = await auditFile(cap, finder, { ledger, expected: f.holders, maxPairs: Math.min(budget, pairs), signal });
        budget -= Math.max(1, results.length);
        const failed = results.filter((r) => !r.ok);
        run.auditsPassed += results.length - failed.length;
        run.auditsFailed += failed.length;
        if (failed.length) {
          log?.warn({ si: capRef(cap), failed: failed.map((r) => ({ peer: r.peer, share: r.shareNum, reason: r.reason })) }, 'health: audit failed');
          await repairOne(cap, 'failed audit');
        }
      }

      // 5. leases
      if (now() - lastRenew >= config.renewEveryMs && all.length) {
        const until = now() + config.leaseDays * 24 * 3_600_000;
        // The packs kept snapshots reach, and the packs of the repository's index parts (found through the record).
        const indexPacks = await init.folders!.indexPacks().catch(() => [] as string[]);
        const r = await renewLeases([...all, ...indexPacks], finder, { until, holdersOf: (cap) => { const h = files.get(cap)?.holders; return h ? [...new Set(Object.values(h).flat())] : undefined; }, signal });
        // Folder heads, and the repository record (a slot too).
        const heads = await renewHeads([...new Set([...snaps.map((s) => s.rootCap), init.folders!.repoCap])], finder, { until, signal });
        lastRenew = now();
        state.lastRenewal = { at: lastRenew, caps: r.caps, renewed: r.renewed, heads: heads.renewed };
        log?.info({ caps: r.caps, shares: r.renewed, heads: heads.renewed }, 'health: leases renewed');
      }

      // 6. durability
      const stats = await ledger.auditStats();
      const avail = (p: string) => stats[p]?.availability ?? availabilityOf('');
      state.snapshots = snaps.map((s) => {
        const caps = reachable.get(s.cap) ?? [];
        const ps = caps.flatMap((c) => { const f = files.get(c); return f ? [fileDurability(f.needed, f.holders, avail)] : []; });
        const d = caps.length > 0 && ps.length === caps.length ? snapshotDurability(ps) : null;
        return { folder: s.folder, cap: s.cap, objects: caps.length, checked: ps.length, durability: d?.probability ?? null, weakest: d?.weakest ?? null };
      });
      const known2 = state.snapshots.filter((s) => s.durability !== null).map((s) => s.durability!);
      state.durability = known2.length ? Math.min(...known2) : null;
      state.tracked = order.length;
      state.queue = order.length - cursor;
    } catch (err) {
      run.error = (err as Error).message;
      if (!signal.aborted) log?.warn({ err: run.error }, 'health: round failed');
    } finally {
      run.finishedAt = now();
      run.durationMs = run.finishedAt - run.startedAt;
      state.lastRun = run;
      state.rounds++;
      state.running = false;
      state.totals.filesChecked += run.filesChecked;
      state.totals.repaired += run.repaired;
      state.totals.auditsPassed += run.auditsPassed;
      state.totals.auditsFailed += run.auditsFailed;
      log?.info({ ...run }, 'health: round done');
    }
  }

  async function gc(): Promise<void> {
    try {
      const r = await init.store.gc();
      state.lastGc = { ...r, at: now() };
      if (r.removedShares || r.removedSlots) log?.info({ ...r }, 'gc: reclaimed expired shares');
    } catch (err) {
      log?.warn({ err: (err as Error).message }, 'gc failed');
    }
  }

  const schedule = () => {
    if (controller.signal.aborted) return;
    timer = setTimeout(() => {
      current = round().finally(() => { current = null; schedule(); });
    }, config.intervalMs);
    timer.unref();
  };

  return {
    ledger,
    start() {
      controller = new AbortController();
      if (config.enabled) schedule();
      gcTimer = setInterval(() => void gc(), config.gcIntervalMs);
      gcTimer.unref();
    },
    /** Run one round now (waits for a running one first). */
    async runRound(): Promise<HealthState> {
      while (current) await current;
      current = round().finally(() => { current = null; });
      await current;
      return state;
    },
    gc,
    state: (): HealthState => ({ ...state, queue: state.queue, snapshots: [...state.snapshots] }),
    async stop() {
      controller.abort();
      if (timer) clearTimeout(timer);
      if (gcTimer) clearInterval(gcTimer);
      await current?.catch(() => {});
    }
  };
}
