// Browse a snapshot without restoring it: the entries of one directory, a path lookup, a recursive walk.
import { PathNotFoundError } from './errors.ts';
import { readDir, resolveRoot } from './objects.ts';
import type { DirEntry, ObjectStore, Snapshot } from './types.ts';

/** `snapshot`: the snapshot the cap named, if it named one (its stats are what a restore of all of it covers). */
export type Located = ({ kind: 'dir'; cap: string; entries: DirEntry[]; entry?: DirEntry } | { kind: 'leaf'; entry: DirEntry }) & { snapshot?: Snapshot };

/** Split a snapshot-relative path ('a/b', '/a/b/', '' for the root) into components. */
export function pathComponents(path: string | undefined): string[] {
  return (path ?? '').split('/').filter((c) => c !== '' && c !== '.');
}

/** Find `path` under `cap` (a snapshot or directory cap). */
export async function locate(store: ObjectStore, cap: string, path?: string, signal?: AbortSignal): Promise<Located> {
  const { root, entries, snapshot } = await resolveRoot(store, cap, signal);
  let cur: Located = { kind: 'dir', cap: root, entries, snapshot };
  const parts = pathComponents(path);
  for (let i = 0; i < parts.length; i++) {
    if (cur.kind !== 'dir') throw new PathNotFoundError(path!);
    const e: DirEntry | undefined = cur.entries.find((x) => x.name === parts[i]);
    if (!e) throw new PathNotFoundError(path!);
    cur = e.type === 'dir' ? { kind: 'dir', cap: e.cap!, entries: await readDir(store, e.cap!, signal), entry: e } : { kind: 'leaf', entry: e };
  }
  return cur;
}

/** Entries of the directory at `path` (a file or symlink path gives its own entry). */
export async function ls(store: ObjectStore, cap: string, path?: string, opts: { signal?: AbortSignal } = {}): Promise<DirEntry[]> {
  const at = await locate(store, cap, path, opts.signal);
  return at.kind === 'dir' ? at.entries : [at.entry];
}

/** Every entry below a directory cap, depth first, with its path relative to that directory. */
export async function* walkTree(store: ObjectStore, dirCap: string, prefix = '', signal?: AbortSignal): AsyncGenerator<{ path: string; entry: DirEntry }> {
  for (const entry of await readDir(store, dirCap, signal)) {
    const path = prefix ? `${prefix}/${entry.name}` : entry.name;
    yield { path, entry };
    if (entry.type === 'dir') yield* walkTree(store, entry.cap!, path, signal);
  }
}
