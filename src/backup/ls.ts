// Browse a snapshot without restoring it: the entries of one directory, a path lookup, a recursive walk.
import { MAX_TREE_DEPTH, MAX_TREE_ENTRIES } from './constants.ts';
import { PathNotFoundError, TreeTooLargeError } from './errors.ts';
import { readDir, resolveRoot } from './objects.ts';
import type { BlobSource, DirEntry, Snapshot } from './types.ts';

/** `snapshot`: the snapshot the cap named, if it named one (its stats are what a restore of all of it covers). */
export type Located = ({ kind: 'dir'; cap: string; entries: DirEntry[]; entry?: DirEntry } | { kind: 'leaf'; entry: DirEntry }) & { snapshot?: Snapshot };

/** Split a snapshot-relative path ('a/b', '/a/b/', '' for the root) into components. */
export function pathComponents(path: string | undefined): string[] {
  return (path ?? '').split('/').filter((c) => c !== '' && c !== '.');
}

/** Find `path` under `cap` (a snapshot or tree cap). */
export async function locate(src: BlobSource, cap: string, path?: string, signal?: AbortSignal): Promise<Located> {
  const { root, entries, snapshot } = await resolveRoot(src, cap, signal);
  let cur: Located = { kind: 'dir', cap: root, entries, snapshot };
  const parts = pathComponents(path);
  for (let i = 0; i < parts.length; i++) {
    if (cur.kind !== 'dir') throw new PathNotFoundError(path!);
    const e: DirEntry | undefined = cur.entries.find((x) => x.name === parts[i]);
    if (!e) throw new PathNotFoundError(path!);
    cur = e.type === 'dir' ? { kind: 'dir', cap: e.cap!, entries: await readDir(src, e.cap!, signal), entry: e } : { kind: 'leaf', entry: e };
  }
  return cur;
}

/** Entries of the directory at `path` (a file or symlink path gives its own entry). */
export async function ls(src: BlobSource, cap: string, path?: string, opts: { signal?: AbortSignal } = {}): Promise<DirEntry[]> {
  const at = await locate(src, cap, path, opts.signal);
  return at.kind === 'dir' ? at.entries : [at.entry];
}

/**
 * A bound on how much a walk may expand: at most `limit` entries and MAX_TREE_DEPTH levels. A snapshot's own
 * stats give the limit for a walk of all of it (a crafted tree cannot make it larger than it says).
 */
export function expansionBudget(limit = MAX_TREE_ENTRIES) {
  let used = 0;
  return {
    take(n: number, depth: number) {
      used += n;
      if (used > limit) throw new TreeTooLargeError('expands to', limit);
      if (depth > MAX_TREE_DEPTH) throw new TreeTooLargeError('is nested', MAX_TREE_DEPTH);
    }
  };
}

/** The limit for walking all of a snapshot: what it declares, plus the root. */
export const snapshotLimit = (s?: Snapshot) => (s ? Math.min(MAX_TREE_ENTRIES, s.stats.files + s.stats.dirs + s.stats.symlinks + 1) : MAX_TREE_ENTRIES);

/** Every entry below a tree cap (or a directory's entry), depth first, with its path relative to that directory. */
export async function* walkTree(
  src: BlobSource,
  dirCap: string | DirEntry,
  prefix = '',
  signal?: AbortSignal,
  budget = expansionBudget(),
  depth = 0
): AsyncGenerator<{ path: string; entry: DirEntry }> {
  const entries = await readDir(src, dirCap, signal);
  budget.take(entries.length, depth);
  for (const entry of entries) {
    const path = prefix ? `${prefix}/${entry.name}` : entry.name;
    yield { path, entry };
    if (entry.type === 'dir') yield* walkTree(src, entry, path, signal, budget, depth + 1);
  }
}
