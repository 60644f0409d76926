// Checking what a cap needs, as the daemon does it (POST /api/check, `p2pbackup check`). One file is the
// client's work (src/client: check, verify, repair); walking snapshots is folder work, so it lives here:
// a snapshot cap, or a folder root cap (all of its kept snapshots), is walked to every snapshot object,
// directory object and file it reaches, each is checked (and with `repair`, repaired as the walk goes),
// and one report says what was found. A check answers with a report, never an exception for bad health.
import { parseCap, InvalidCapError } from '../caps/index.ts';
import { UnsupportedError } from '../common/errors.ts';
import { forEachLimit } from '../common/pool.ts';
import { reachableCaps, type ObjectStore } from '../backup/index.ts';
import { checkFile, repairFile, type CheckOptions, type FileCheckReport, type RepairReport, type ServerFinder } from '../client/index.ts';
import type { CheckReport, CheckRequest } from '../api/service.ts';

const DEEP_CONCURRENCY = 4; // files checked at once during a walk

export interface DeepCheckReport {
  cap: string;
  snapshots: string[];
  /** One report per stored object (snapshot objects, directories, files). */
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
  store: ObjectStore;
  /** A folder root cap -> the snapshot caps its head keeps. */
  snapshotsOf?: (rootCap: string) => Promise<string[]>;
  /** Called with each file's report (e.g. to repair as the walk goes). */
  onFile?: (r: FileCheckReport) => Promise<void> | void;
}

/** Check everything a snapshot (or every kept snapshot of a folder root cap) needs. */
export async function checkDeep(capText: string, finder: ServerFinder, o: DeepCheckOptions): Promise<DeepCheckReport> {
  const c = parseCap(capText);
  let snapshots: string[];
  if (c.type === 'mr' || c.type === 'mw') {
    if (!o.snapshotsOf) throw new InvalidCapError('ERR_CAP_WRONG_KIND', 'this peer cannot resolve folder root caps');
    snapshots = await o.snapshotsOf(capText);
  } else {
    snapshots = [capText];
  }
  const errors: DeepCheckReport['errors'] = [];
  let caps: string[];
  try {
    caps = [...await reachableCaps(o.store, snapshots, { signal: o.signal })];
  } catch (e) {
    o.signal?.throwIfAborted();
    // Walk failed (a directory or snapshot object is unreadable): check what we can name and report it.
    errors.push({ cap: capText, error: (e as Error).message });
    caps = snapshots.filter((s) => parseCap(s).type !== 'lit');
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
    cap: capText, snapshots, files, objects: files.length, healthy, unhealthy: files.length - healthy, unrecoverable,
    recoverable: unrecoverable === 0 && errors.length === 0, errors
  };
}

/** What a check needs from the peer's folders: the objects behind caps and a folder's snapshots. */
export interface CheckFolders {
  readonly store: ObjectStore;
  snapshots(rootCap: string): Promise<{ snapshots: { cap: string }[] }>;
}

/**
 * One check request: a file (with `verify`, every block; with `repair`, rebuilt back to n shares on n
 * hosts), or with `deep` everything a snapshot or folder root cap reaches (repairing each unhealthy file).
 */
export async function checkCap(cap: string, finder: ServerFinder, folders: CheckFolders | null, o: CheckRequest): Promise<CheckReport> {
  const onProgress = o.onProgress as ((e: unknown) => void) | undefined;
  if (o.deep) {
    if (!folders) throw new UnsupportedError('this peer runs without folders: --deep needs them');
    const repairs: RepairReport[] = [];
    const r = await checkDeep(cap, finder, {
      store: folders.store, verify: o.verify, signal: o.signal, onProgress,
      snapshotsOf: async (root) => (await folders.snapshots(root)).snapshots.map((s) => s.cap),
      onFile: async (f) => { if (o.repair && !f.healthy && f.recoverable && f.verifyCap) repairs.push(await repairFile(f.cap, finder, { signal: o.signal, onProgress })); }
    });
    if (o.repair) {
      const after = new Map(repairs.map((x) => [x.cap, x.after] as [string, FileCheckReport]));
      r.files = r.files.map((f) => after.get(f.cap) ?? f);
      r.healthy = r.files.filter((f) => f.healthy).length;
      r.unhealthy = r.files.length - r.healthy;
    }
    return { ...r, ...(o.repair ? { repairs: repairs.map((x) => ({ cap: x.cap, missing: x.missing, placed: x.placed, deleted: x.deleted, failures: x.failures, repaired: x.repaired })) } : {}) };
  }
  if (o.repair) {
    const r = await repairFile(cap, finder, { signal: o.signal, onProgress });
    return { ...r, recoverable: r.after.recoverable };
  }
  return { ...await checkFile(cap, finder, { verify: o.verify, signal: o.signal, onProgress }) };
}
