// Diff two snapshots (or directory caps): walk both trees in name order, never entering a subtree whose
// directory cap is the same on both sides (same cap = same bytes = same contents).
import { readDir, resolveRoot } from './objects.ts';
import { compareNames } from './objects.ts';
import type { DirEntry, ObjectStore } from './types.ts';

export interface DiffResult {
  /** Paths only in B (a new directory brings all of its descendants). */
  added: string[];
  /** Paths only in A. */
  removed: string[];
  /** Same path, different content: file cap, symlink target, or entry type. */
  changed: string[];
  /** Same content, different mode or mtime (files and symlinks; directories only for mode). */
  metadata: string[];
}

export async function diff(store: ObjectStore, capA: string, capB: string, opts: { signal?: AbortSignal } = {}): Promise<DiffResult> {
  const out: DiffResult = { added: [], removed: [], changed: [], metadata: [] };
  const [a, b] = await Promise.all([resolveRoot(store, capA, opts.signal), resolveRoot(store, capB, opts.signal)]);
  const all = async (e: DirEntry, path: string, into: string[]) => {
    into.push(path);
    if (e.type === 'dir') for (const c of await readDir(store, e.cap!, opts.signal)) await all(c, `${path}/${c.name}`, into);
  };
  const walk = async (ea: DirEntry[], eb: DirEntry[], prefix: string): Promise<void> => {
    let i = 0, j = 0;
    while (i < ea.length || j < eb.length) {
      const c = i >= ea.length ? 1 : j >= eb.length ? -1 : compareNames(ea[i].name, eb[j].name);
      if (c < 0) { await all(ea[i], prefix + ea[i].name, out.removed); i++; continue; }
      if (c > 0) { await all(eb[j], prefix + eb[j].name, out.added); j++; continue; }
      const x = ea[i++], y = eb[j++];
      const path = prefix + x.name;
      if (x.type !== y.type) {
        await all(x, path, out.removed);
        await all(y, path, out.added);
      } else if (x.type === 'dir') {
        if (x.mode !== y.mode) out.metadata.push(path);
        if (x.cap !== y.cap) await walk(await readDir(store, x.cap!, opts.signal), await readDir(store, y.cap!, opts.signal), `${path}/`);
      } else if (x.cap !== y.cap || x.target !== y.target) {
        out.changed.push(path);
      } else if (x.mode !== y.mode || x.mtimeNs !== y.mtimeNs) {
        out.metadata.push(path);
      }
    }
  };
  if (a.root !== b.root) await walk(a.entries, b.entries, '');
  return out;
}
