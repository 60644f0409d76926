// The daemon's health loop (docs/HEALTH.md), one round every `intervalMs`, never two at once:
// 1. Sample availability: every peer this one knows of is recorded up (connected) or down in the ledger.
// 2. Kept snapshots: every folder's head lists them; each snapshot's reachable caps are walked once and
//    cached (snapshots are immutable, so the set never changes).
// 3. Check up to `checksPerRound` files (LIST only; files never checked first, the rest round robin: bounded
//    cost per round); a recoverable file below `repairThreshold` distinct hosts (for `repairAfterMs` at least)
//    is repaired back to n on distinct hosts.
//    Peers that left for good simply stop listing: their files fall below the threshold and are re-placed.
// 4. Audit up to `auditsPerRound` random (peer, share) pairs; a file with a failed audit is repaired
//    (with verification, so lost or corrupt shares are rebuilt elsewhere).
// 5. Renew leases (at most every `renewEveryMs`) on every cap a kept snapshot needs, and the folder heads.
// 6. Durability per snapshot from the holders seen and the peers' availability.
// Separately, every `gcIntervalMs`, this peer's own store drops shares whose lease expired (plus grace).
// Logs name objects by storage index (capRef), never by cap: a read cap, or even a prefix of one (40
// characters carried about 147 key bits), in a log file would hand the data to whoever reads the log.
// Each folder's safety (src/peer/folder-health.ts) follows from the checks, the repairs under way and the
// peers that went away since (`peerEvent`); a change goes out as a `health:folders` event at once. Rounds
// and repairs run as operations (src/peer/operations.ts): listed, followed and cancellable like any other.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { forEachLimit } from '../common/pool.ts';
import { parseCap, storageIndexOf } from '../caps/index.ts';
import {
  auditFile,
  checkFile,
  fileDurability,
  renewHeads,
  renewLeases,
  repairFile,
  snapshotDurability,
  availabilityOf,
  type AuditLedger,
  type FileCheckReport,
  type ServerFinder
} from '../client/index.ts';
import type { GcResult, ShareStore } from '../store/index.ts';
import type { HealthConfig } from './config.ts';
import type { FolderService } from './folders.ts';
import type { ProgressEvent } from '../api/service.ts';
import { folderHealth, type FolderHealth, type PackState } from './folder-health.ts';
import type { Operations } from './operations.ts';

const CHECK_CONCURRENCY = 4; // files checked (and repaired) at once
/** A light round (only files never checked: a new snapshot's) this long after a nudge, so a burst of
 *  snapshots costs one; and after start, so the dashboard knows each folder's safety within seconds,
 *  not after the first full round (an hour by default). */
export const NUDGE_DELAY_MS = 5_000;
/**
 * Rounds on a timer (a nudge's light round, the hourly full round) wait until no backup or restore (a watched
 * folder's or one asked for) has run for NUDGE_DELAY_MS: background checks do not take CPU, memory and the network
 * from a transfer someone is waiting for (a light round walking a new /usr/share snapshot during the restore that
 * followed its backup cost that restore 4.2-4.7 CPU s, 2.5-2.8 s of its 14 and 12-14 MiB of its peak). Checks and
 * repairs do not hold a round back (a monitor polling `check` would starve it). They wait at most this long, so a
 * daemon kept busy still checks what it stored. A round asked for (`runRound`) does not wait.
 */
export const QUIET_WAIT_MAX_MS = 10 * 60_000;

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
  /** Where rounds and repairs are registered (listed, cancellable); without it they run unlisted. */
  operations?: Operations;
  /** The event bus (`health:folders` when a folder's safety changes). */
  onEvent?: (e: ProgressEvent) => void;
  /** Tests: NUDGE_DELAY_MS and QUIET_WAIT_MAX_MS. */
  nudgeDelayMs?: number;
  quietWaitMaxMs?: number;
}

interface FileState extends PackState {
  found: number;
  hosts: number;
  happiness: number;
  recoverable: boolean;
}

export interface SnapshotHealth {
  folder: string;
  cap: string;
  objects: number;
  checked: number;
  durability: number | null;
  weakest: number | null;
}

export interface HealthState {
  enabled: boolean;
  running: boolean;
  rounds: number;
  lastRun: {
    startedAt: number;
    finishedAt: number;
    durationMs: number;
    filesChecked: number;
    repaired: number;
    repairFailed: number;
    auditsPassed: number;
    auditsFailed: number;
    error?: string;
  } | null;
  totals: { filesChecked: number; repaired: number; auditsPassed: number; auditsFailed: number };
  /** Files not yet checked in the current pass over all tracked files. */
  queue: number;
  tracked: number;
  snapshots: SnapshotHealth[];
  /** Lowest snapshot durability (null before the first round). */
  durability: number | null;
  lastGc: (GcResult & { at: number }) | null;
  /**
   * The last lease renewal: packs asked, shares renewed, folder heads renewed, and `unrenewed`: packs for which no
   * holder renewed a single share (their holders unreachable then, or the pack lost: a lapsed lease, or holders
   * that dropped it). The lost ones are distrusted for deduplication (folders.settleLeases).
   */
  lastRenewal: { at: number; caps: number; renewed: number; heads: number; unrenewed: number } | null;
  config: HealthConfig & { repairThreshold: number };
  /** Each folder's safety (its latest snapshot); empty before the first round. */
  folders: FolderHealth[];
}

export type HealthService = ReturnType<typeof createHealthService>;

export function createHealthService(init: HealthInit) {
  const { config, finder, ledger, log } = init;
  const now = init.now ?? Date.now;
  const threshold = config.repairThreshold ?? init.encoding.happy;
  const files = new Map<string, FileState>();
  // snapshot cap -> the packs it needs, as the index of generation `reachableGeneration` places its blobs (a
  // prune moves kept blobs into new packs: the lists are walked again under a new generation)
  const reachable = new Map<string, string[]>();
  let reachableGeneration: number | null = null;
  const lostAt = new Map<string, number>(); // peer -> when it disconnected (removed when it connects again)
  const repairing = new Set<string>();
  const repairedAt = new Map<string, number>();
  const belowSince = new Map<string, number>(); // cap -> first check that saw it below the threshold
  let folderList: { folder: string; rootCap: string; snapshot: { cap: string; time: number } | null }[] = [];
  let lastFoldersJson = '';
  let order: string[] = [];
  let cursor = 0;
  let lastRenew = 0;
  let timer: NodeJS.Timeout | null = null;
  let nudgeTimer: NodeJS.Timeout | null = null;
  let gcTimer: NodeJS.Timeout | null = null;
  let controller = new AbortController();
  // Rounds run one at a time, in the order asked: each waits for the one before.
  let chain: Promise<void> = Promise.resolve();
  const exclusive = (fn: () => Promise<void>): Promise<void> => {
    const p = chain.then(fn);
    chain = p.catch(() => {});
    return p;
  };
  const nudgeDelay = init.nudgeDelayMs ?? NUDGE_DELAY_MS;
  const quietWaitMax = init.quietWaitMaxMs ?? QUIET_WAIT_MAX_MS;
  /** How long until no backup or restore has run for `nudgeDelay` (0: quiet now). */
  const untilQuiet = (): number => {
    let last = -Infinity;
    for (const op of init.operations?.list() ?? []) {
      if (op.kind !== 'backup' && op.kind !== 'restore') continue;
      if (op.state === 'running') return nudgeDelay;
      last = Math.max(last, op.finishedAt ?? -Infinity);
    }
    return Math.max(0, last + nudgeDelay - now());
  };
  /** Resolves once the daemon is quiet (untilQuiet), at `until` at the latest, or once `signal` fires. */
  const quiet = async (until: number, signal: AbortSignal): Promise<void> => {
    for (let wait = untilQuiet(); wait > 0 && !signal.aborted && now() < until; wait = untilQuiet())
      await sleep(Math.min(wait, until - now()), undefined, { signal, ref: false }).catch(() => {}); // an abort ends the wait
  };
  const state: HealthState = {
    enabled: config.enabled,
    running: false,
    rounds: 0,
    lastRun: null,
    totals: { filesChecked: 0, repaired: 0, auditsPassed: 0, auditsFailed: 0 },
    queue: 0,
    tracked: 0,
    snapshots: [],
    durability: null,
    lastGc: null,
    lastRenewal: null,
    config: { ...config, repairThreshold: threshold },
    folders: []
  };

  const remember = (r: FileCheckReport) => {
    files.set(r.cap, {
      holders: r.holders,
      needed: r.needed,
      total: r.total,
      found: r.found,
      hosts: r.hosts,
      happiness: r.happiness,
      recoverable: r.recoverable,
      checkedAt: now()
    });
    if (r.happiness >= threshold) belowSince.delete(r.cap);
    else if (!belowSince.has(r.cap)) belowSince.set(r.cap, now());
  };

  /** Every folder's safety from what is known now; a `health:folders` event when it changed. */
  let availability = new Map<string, number>();
  function refreshFolders(): void {
    state.folders = folderList.map((f) => {
      const d = f.snapshot ? state.snapshots.find((x) => x.cap === f.snapshot!.cap) : undefined;
      return folderHealth({
        folder: f.folder,
        rootCap: f.rootCap,
        snapshot: f.snapshot,
        packs: f.snapshot ? reachable.get(f.snapshot.cap) : undefined,
        states: (cap) => files.get(cap),
        lostAt: (p) => lostAt.get(p),
        repairing: (cap) => repairing.has(cap),
        repairedAt: (cap) => repairedAt.get(cap),
        availability: (p) => availability.get(p) ?? availabilityOf(''),
        durability: { probability: d?.durability ?? null, weakest: d?.weakest ?? null },
        encoding: init.encoding,
        threshold
      });
    });
    const json = JSON.stringify(state.folders);
    if (json === lastFoldersJson) return;
    lastFoldersJson = json;
    init.onEvent?.({ type: 'health:folders', folders: state.folders });
  }

  async function keptSnapshots(signal: AbortSignal): Promise<{ folder: string; rootCap: string; cap: string; time: number }[]> {
    if (!init.folders) return [];
    const out: { folder: string; rootCap: string; cap: string; time: number }[] = [];
    const list: typeof folderList = [];
    for (const f of await init.folders.listFolders()) {
      signal.throwIfAborted();
      try {
        const { snapshots } = await init.folders.snapshots(f.rootCap);
        for (const s of snapshots) out.push({ folder: f.path, rootCap: f.rootCap, cap: s.cap, time: s.time });
        const latest = snapshots.at(-1);
        list.push({ folder: f.path, rootCap: f.rootCap, snapshot: latest ? { cap: latest.cap, time: latest.time } : null });
      } catch (err) {
        log?.warn({ folder: f.path, err: (err as Error).message }, 'health: cannot read folder head');
        const known = folderList.find((x) => x.rootCap === f.rootCap);
        list.push(known ?? { folder: f.path, rootCap: f.rootCap, snapshot: null });
      }
    }
    folderList = list;
    return out;
  }

  /** Run `fn` as a registered operation when there is a registry. */
  const asOperation = <T>(
    spec: Parameters<Operations['run']>[0],
    fn: (signal: AbortSignal, progress: (p: { files?: number; totalFiles?: number; phase?: string }) => void) => Promise<T>
  ): Promise<T> => (init.operations ? init.operations.run(spec, (op) => fn(op.signal, op.progress)) : fn(spec.signal ?? controller.signal, () => {}));

  /**
   * One round; `light`: only the files never checked (a new snapshot's), no availability sample, audit or renewal;
   * `until`: a round on a timer, which pauses while a backup or restore runs, until then at the latest.
   */
  async function round(o: { light?: boolean; until?: number } = {}): Promise<void> {
    const run = {
      startedAt: now(),
      finishedAt: 0,
      durationMs: 0,
      filesChecked: 0,
      repaired: 0,
      repairFailed: 0,
      auditsPassed: 0,
      auditsFailed: 0
    } as NonNullable<HealthState['lastRun']>;
    state.running = true;
    try {
      const title = o.light ? 'Health check of new snapshots' : 'Health round: check, repair, audit, renew';
      await asOperation({ kind: 'check', origin: 'health', title, signal: controller.signal }, (signal, progress) =>
        roundSteps(run, signal, progress, o.light === true, o.until === undefined ? async () => {} : () => quiet(o.until!, signal))
      );
    } catch (err) {
      run.error = (err as Error).message;
      if (!controller.signal.aborted) log?.warn({ err: run.error }, 'health: round failed');
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
      refreshFolders();
      log?.info({ ...run }, 'health: round done');
    }
  }

  async function roundSteps(
    run: NonNullable<HealthState['lastRun']>,
    signal: AbortSignal,
    progress: (p: { files?: number; totalFiles?: number; phase?: string }) => void,
    light: boolean,
    /** Waits while a backup or restore runs (a round on a timer), between snapshot walks and between checks. */
    pause: () => Promise<void>
  ): Promise<void> {
    // 1. availability (full rounds only: samples at a steady pace, not at every backup)
    if (!light) {
      const up = new Set(init.connected());
      const known = new Set([...up, ...Object.keys(await ledger.auditStats())]);
      for (const f of files.values()) for (const peers of Object.values(f.holders)) for (const p of peers) known.add(p);
      for (const p of known) await ledger.recordAvailability(p, up.has(p));
    }

    // 2. what kept snapshots need
    const generation = await init.folders!.packsGeneration?.({ signal }).catch((err) => {
      signal.throwIfAborted();
      log?.warn({ err: (err as Error).message }, 'health: cannot read the repository record (pack lists kept as they were)');
      return reachableGeneration;
    });
    if ((generation ?? null) !== reachableGeneration) {
      reachable.clear();
      reachableGeneration = generation ?? null;
    }
    const snaps = await keptSnapshots(signal);
    for (const s of snaps) {
      if (reachable.has(s.cap)) continue;
      await pause();
      try {
        reachable.set(s.cap, (await init.folders!.packsOf(s.cap, { signal })).packs);
      } catch (err) {
        signal.throwIfAborted();
        log?.warn({ folder: s.folder, err: (err as Error).message }, 'health: cannot walk a snapshot (its packs are not checked this round)');
      }
    }
    const all = [...new Set(snaps.flatMap((s) => reachable.get(s.cap) ?? []))];
    if (all.join('\n') !== order.join('\n')) {
      order = all;
      cursor = Math.min(cursor, order.length);
    }
    const wanted = new Set(all);
    for (const cap of [...files.keys()])
      if (!wanted.has(cap)) {
        files.delete(cap);
        belowSince.delete(cap);
        repairedAt.delete(cap);
      } // forgotten snapshots: stop tracking
    const folderOf = new Map<string, string>();
    for (const s of snaps) for (const cap of reachable.get(s.cap) ?? []) folderOf.set(cap, s.folder);
    refreshFolders();

    // 3. check a bounded slice (files never checked first: a new snapshot's safety is known by the next
    //    round), repair below the threshold
    const fresh = order.filter((cap) => !files.has(cap)).slice(0, config.checksPerRound);
    if (cursor >= order.length) cursor = 0;
    const next = light ? [] : order.slice(cursor, cursor + config.checksPerRound - fresh.length);
    cursor += next.length;
    const freshSet = new Set(fresh);
    const slice = [...fresh, ...next.filter((cap) => !freshSet.has(cap))];
    let done = 0;
    progress({ files: 0, totalFiles: slice.length, phase: 'checking' });
    const repairOne = async (cap: string, why: string) => {
      const folder = folderOf.get(cap);
      repairing.add(cap);
      refreshFolders();
      try {
        const r = await asOperation(
          { kind: 'repair', origin: 'health', title: `Repair of a pack${folder ? ` of ${folder}` : ''} (${why})`, folder, signal },
          (s, p) =>
            repairFile(cap, finder, {
              signal: s,
              onProgress: (e: { type: string; shareNum?: number }) => {
                if (e.type === 'client:repair:share-placed') p({ phase: `placed share ${e.shareNum}` });
              }
            })
        );
        repairedAt.set(cap, now());
        remember(r.after);
        // The loop's goal is the threshold, not n: with fewer live hosts than n, reaching it is a success.
        if (r.repaired || r.after.happiness >= threshold) run.repaired++;
        else run.repairFailed++;
        log?.info(
          { si: capRef(cap), why, placed: r.placed.length, deleted: r.deleted.length, before: r.before.happiness, after: r.after.happiness },
          'health: repaired'
        );
      } catch (err) {
        signal.throwIfAborted();
        run.repairFailed++;
        log?.warn({ si: capRef(cap), err: (err as Error).message }, 'health: repair failed');
      } finally {
        repairing.delete(cap);
        refreshFolders();
      }
    };
    await forEachLimit(slice, CHECK_CONCURRENCY, async (cap) => {
      try {
        await pause();
        const r = await checkFile(cap, finder, { signal, enough: threshold });
        remember(r);
        run.filesChecked++;
        // Below the threshold for repairAfterMs at least: a holder back within that time costs nothing.
        const due = now() - (belowSince.get(cap) ?? now()) >= config.repairAfterMs;
        if (r.recoverable && r.verifyCap && r.happiness < threshold && due) await repairOne(cap, `happiness ${r.happiness} < ${threshold}`);
        else if (r.happiness < threshold) refreshFolders();
      } catch (err) {
        signal.throwIfAborted();
        log?.warn({ si: capRef(cap), err: (err as Error).message }, 'health: check failed');
      } finally {
        progress({ files: ++done, totalFiles: slice.length });
      }
    });
    progress({ phase: 'auditing' });

    // 4. audits on random files, bounded by pairs
    let budget = light ? 0 : config.auditsPerRound;
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
    if (!light && now() - lastRenew >= config.renewEveryMs && all.length) {
      progress({ phase: 'renewing leases' });
      const until = now() + config.leaseDays * 24 * 3_600_000;
      // The packs kept snapshots reach, the packs of the repository's index parts (found through the record), and
      // every pack the index names: a backup reuses any blob the index knows, so a pack only forgotten snapshots
      // needed lives on until a prune takes it out of the index (else a file that came back would be stored as a
      // reference to a pack its holders had collected).
      const indexPacks = await init.folders!.indexPacks().catch(() => [] as string[]);
      let listed = true;
      const indexed = await init.folders!.indexedPacks({ signal }).catch((err) => {
        signal.throwIfAborted();
        log?.warn({ err: (err as Error).message }, 'health: cannot list the packs the index names (renewing what kept snapshots need)');
        listed = false;
        return [] as string[];
      });
      const asked = [...all, ...indexPacks, ...indexed];
      const r = await renewLeases(asked, finder, {
        until,
        holdersOf: (cap) => {
          const h = files.get(cap)?.holders;
          return h ? [...new Set(Object.values(h).flat())] : undefined;
        },
        signal
      });
      // Packs no holder has any more are distrusted (a backup would name them), those renewed trusted again, and
      // the index's leases are known to run until `until` (a backup trusts it until then: folders.confirmLeases).
      if (listed)
        await init.folders!.settleLeases(r, until, asked).catch((err) => {
          signal.throwIfAborted();
          log?.warn({ err: (err as Error).message }, 'health: cannot update the index after the renewal');
        });
      // Folder heads, and the repository record (a slot too).
      const heads = await renewHeads([...new Set([...snaps.map((s) => s.rootCap), init.folders!.repoCap])], finder, { until, signal });
      lastRenew = now();
      state.lastRenewal = { at: lastRenew, caps: r.caps, renewed: r.renewed, heads: heads.renewed, unrenewed: r.none.length };
      log?.info({ caps: r.caps, shares: r.renewed, heads: heads.renewed, unrenewed: r.none.length }, 'health: leases renewed');
      if (r.none.length)
        log?.warn({ packs: r.none.length, first: r.none.slice(0, 5).map(capRef) }, 'health: packs no holder renewed (holders unreachable, or the packs lost)');
    }

    // 6. durability
    const stats = await ledger.auditStats();
    availability = new Map(Object.entries(stats).map(([p, s]) => [p, s.availability]));
    const avail = (p: string) => stats[p]?.availability ?? availabilityOf('');
    state.snapshots = snaps.map((s) => {
      const caps = reachable.get(s.cap) ?? [];
      const ps = caps.flatMap((c) => {
        const f = files.get(c);
        return f ? [fileDurability(f.needed, f.holders, avail)] : [];
      });
      const d = caps.length > 0 && ps.length === caps.length ? snapshotDurability(ps) : null;
      return { folder: s.folder, cap: s.cap, objects: caps.length, checked: ps.length, durability: d?.probability ?? null, weakest: d?.weakest ?? null };
    });
    const known2 = state.snapshots.filter((s) => s.durability !== null).map((s) => s.durability!);
    state.durability = known2.length ? Math.min(...known2) : null;
    state.tracked = order.length;
    state.queue = order.length - cursor;
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

  /**
   * A round on a timer: once the daemon is quiet, unless the loop stopped meanwhile; it pauses again between
   * snapshot walks and between checks while a backup or restore runs (one that started during the round). All its
   * waits end QUIET_WAIT_MAX_MS after it was due.
   */
  const timedRound = (light: boolean): Promise<void> =>
    exclusive(async () => {
      const signal = controller.signal;
      const until = now() + quietWaitMax;
      await quiet(until, signal);
      if (!signal.aborted) await round({ light, until });
    });

  /** A new snapshot (or a start): a light round soon, so its safety is known without waiting for a full round. */
  const nudge = (): void => {
    if (!config.enabled || controller.signal.aborted || nudgeTimer) return;
    nudgeTimer = setTimeout(() => {
      nudgeTimer = null;
      void timedRound(true);
    }, nudgeDelay);
    nudgeTimer.unref();
  };

  const schedule = () => {
    if (controller.signal.aborted) return;
    timer = setTimeout(() => {
      void timedRound(false).finally(schedule);
    }, config.intervalMs);
    timer.unref();
  };

  return {
    ledger,
    start() {
      controller = new AbortController();
      if (config.enabled) {
        schedule();
        nudge();
      }
      gcTimer = setInterval(() => void gc(), config.gcIntervalMs);
      gcTimer.unref();
    },
    /** Run one round now (waits for a running one first). */
    async runRound(): Promise<HealthState> {
      await exclusive(() => round());
      return state;
    },
    gc,
    state: (): HealthState => ({ ...state, queue: state.queue, snapshots: [...state.snapshots], folders: [...state.folders] }),
    nudge,
    /** A peer connected (up) or went away: folders whose packs it holds change state at once. */
    peerEvent(peer: string, up: boolean): void {
      if (up) lostAt.delete(peer);
      else lostAt.set(peer, now());
      refreshFolders();
    },
    async stop() {
      controller.abort();
      if (timer) clearTimeout(timer);
      if (nudgeTimer) clearTimeout(nudgeTimer);
      if (gcTimer) clearInterval(gcTimer);
      await chain;
    }
  };
}
