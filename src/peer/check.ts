// Checking what a cap needs, as the daemon does it (POST /api/check, `p2pbackup check`). One file is the
// client's work (src/client: check, verify, repair); walking snapshots is folder work, so it lives here:
// a blob cap (a file, a tree, a snapshot) or a folder root cap (all of its kept snapshots) is walked to every
// blob it reaches, and every pack those blobs live in is checked (and with `repair`, repaired as the walk goes);
// one report says what was found. A check answers with a report, never an exception for bad health.
import { parseCap } from '../caps/index.ts';
import { UnsupportedError } from '../common/errors.ts';
import { forEachLimit } from '../common/pool.ts';
import { checkFile, repairFile, type CheckOptions, type FileCheckReport, type RepairReport, type ServerFinder } from '../client/index.ts';
import type { CheckReport, CheckRequest } from '../api/service.ts';

const DEEP_CONCURRENCY = 4; // files checked at once during a walk

export interface DeepCheckReport {
  cap: string;
  snapshots: string[];
  /** One report per pack the cap needs. */
  files: FileCheckReport[];
  objects: number;
  healthy: number;
  unhealthy: number;
  unrecoverable: number;
  recoverable: boolean;
  /** Objects that could not be walked (e.g. an unrecoverable directory hides its children). */
  errors: { cap: string; error: string }[];
}

export interface DeepCheckOptions extends CheckOptions {
  /** The pack caps a cap needs, and the snapshots it names (the folders' repositories know). */
  packsOf: (capText: string) => Promise<{ snapshots: string[]; packs: string[] }>;
  /** Called with each file's report (e.g. to repair as the walk goes). */
  onFile?: (r: FileCheckReport) => Promise<void> | void;
}

/** Check everything a snapshot (or every kept snapshot of a folder root cap) needs. */
export async function checkDeep(capText: string, finder: ServerFinder, o: DeepCheckOptions): Promise<DeepCheckReport> {
  const errors: DeepCheckReport['errors'] = [];
  let caps: string[] = [];
  let snapshots: string[] = [];
  try {
    ({ snapshots, packs: caps } = await o.packsOf(capText));
  } catch (e) {
    o.signal?.throwIfAborted();
    // Walk failed (a tree or snapshot is unreadable, a blob in no index): report it.
    errors.push({ cap: capText, error: (e as Error).message });
  }
  const files: FileCheckReport[] = [];
  await forEachLimit(caps, DEEP_CONCURRENCY, async (cap) => {
    const r = await checkFile(cap, finder, o);
    files.push(r);
    o.onProgress?.({ type: 'client:check:file', cap, found: r.found, hosts: r.hosts, recoverable: r.recoverable, done: files.length, total: caps.length });
    await o.onFile?.(r);
  });
  const unrecoverable = files.filter((f) => !f.recoverable).length;
  const healthy = files.filter((f) => f.healthy).length;
  return {
    cap: capText,
    snapshots,
    files,
    objects: files.length,
    healthy,
    unhealthy: files.length - healthy,
    unrecoverable,
    recoverable: unrecoverable === 0 && errors.length === 0,
    errors
  };
}

/** What a check needs from the peer's folders: the packs a cap reaches. */
export interface CheckFolders {
  packsOf(capText: string, o?: { signal?: AbortSignal }): Promise<{ snapshots: string[]; packs: string[] }>;
}

/**
 * One check request: a file (with `verify`, every block; with `repair`, rebuilt back to n shares on n
 * hosts), or with `deep` everything a snapshot or folder root cap reaches (repairing each unhealthy file).
 */
export async function checkCap(cap: string, finder: ServerFinder, folders: CheckFolders | null, o: CheckRequest): Promise<CheckReport> {
  const onProgress = o.onProgress as ((e: unknown) => void) | undefined;
  // Files, trees, snapshots and folders live in packs: checking one checks every pack it reaches.
  if (o.deep || !['pack', 'lit'].includes(parseCap(cap).type)) {
    if (!folders) throw new UnsupportedError('this peer runs without folders: --deep needs them');
    const repairs: RepairReport[] = [];
    const r = await checkDeep(cap, finder, {
      verify: o.verify,
      signal: o.signal,
      onProgress,
      packsOf: (c) => folders.packsOf(c, { signal: o.signal }),
      onFile: async (f) => {
        if (o.repair && !f.healthy && f.recoverable && f.verifyCap) repairs.push(await repairFile(f.cap, finder, { signal: o.signal, onProgress }));
      }
    });
    if (o.repair) {
      const after = new Map(repairs.map((x) => [x.cap, x.after] as [string, FileCheckReport]));
      r.files = r.files.map((f) => after.get(f.cap) ?? f);
      r.healthy = r.files.filter((f) => f.healthy).length;
      r.unhealthy = r.files.length - r.healthy;
    }
    return {
      ...r,
      ...(o.repair
        ? {
            repairs: repairs.map((x) => ({ cap: x.cap, missing: x.missing, placed: x.placed, deleted: x.deleted, failures: x.failures, repaired: x.repaired }))
          }
        : {})
    };
  }
  if (o.repair) {
    const r = await repairFile(cap, finder, { signal: o.signal, onProgress });
    return { ...r, recoverable: r.after.recoverable };
  }
  return { ...(await checkFile(cap, finder, { verify: o.verify, signal: o.signal, onProgress })) };
}
