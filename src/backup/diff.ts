// Diff two snapshots (or tree caps): walk both trees in name order, never entering a subtree whose tree is the
// same blob on both sides (same id = same bytes = same contents). Expansion is bounded as for restore.
import { readDir, resolveRoot, entryContent } from './objects.ts';
import { compareNames } from './objects.ts';
import { expansionBudget, snapshotLimit } from './ls.ts';
import type { BlobSource, DirEntry } from './types.ts';

export interface DiffResult {
  /** Paths only in B (a new directory brings all of its descendants). */
  added: string[];
  /** Paths only in A. */
  removed: string[];
  /** Same path, different content: file content, symlink target, or entry type. */
  changed: string[];
  /** Same content, different mode or mtime (files and symlinks; directories only for mode). */
  metadata: string[];
}

/** Whether two entries of the same type name the same content (literal bytes or blob id). */
function sameContent(x: DirEntry, y: DirEntry): boolean {
  if (x.type === 'symlink') return x.target === y.target;
  const kinds = x.type === 'dir' ? ['tree' as const] : ['data' as const, 'list' as const];
  const a = entryContent(x, kinds),
    b = entryContent(y, kinds);
  if (a.kind === 'lit' || b.kind === 'lit')
    return a.kind === b.kind && Buffer.compare((a as { data: Uint8Array }).data, (b as { data: Uint8Array }).data) === 0;
  return a.kind === b.kind && Buffer.compare(a.id, b.id) === 0;
}

export async function diff(src: BlobSource, capA: string, capB: string, opts: { signal?: AbortSignal } = {}): Promise<DiffResult> {
  const out: DiffResult = { added: [], removed: [], changed: [], metadata: [] };
  const [a, b] = await Promise.all([resolveRoot(src, capA, opts.signal), resolveRoot(src, capB, opts.signal)]);
  const budget = expansionBudget(snapshotLimit(a.snapshot) + snapshotLimit(b.snapshot));
  const read = async (cap: string, depth: number) => {
    const entries = await readDir(src, cap, opts.signal);
    budget.take(entries.length, depth);
    return entries;
  };
  const all = async (e: DirEntry, path: string, into: string[], depth: number) => {
    into.push(path);
    if (e.type === 'dir') for (const c of await read(e.cap!, depth)) await all(c, `${path}/${c.name}`, into, depth + 1);
  };
  const walk = async (ea: DirEntry[], eb: DirEntry[], prefix: string, depth: number): Promise<void> => {
    let i = 0,
      j = 0;
    while (i < ea.length || j < eb.length) {
      const c = i >= ea.length ? 1 : j >= eb.length ? -1 : compareNames(ea[i].name, eb[j].name);
      if (c < 0) {
        await all(ea[i], prefix + ea[i].name, out.removed, depth + 1);
        i++;
        continue;
      }
      if (c > 0) {
        await all(eb[j], prefix + eb[j].name, out.added, depth + 1);
        j++;
        continue;
      }
      const x = ea[i++],
        y = eb[j++];
      const path = prefix + x.name;
      if (x.type !== y.type) {
        await all(x, path, out.removed, depth + 1);
        await all(y, path, out.added, depth + 1);
      } else if (x.type === 'dir') {
        if (x.mode !== y.mode) out.metadata.push(path);
        if (!sameContent(x, y)) await walk(await read(x.cap!, depth + 1), await read(y.cap!, depth + 1), `${path}/`, depth + 1);
      } else if (!sameContent(x, y)) {
        out.changed.push(path);
      } else if (x.mode !== y.mode || x.mtimeNs !== y.mtimeNs) {
        out.metadata.push(path);
      }
    }
  };
  const ra = entryContent({ name: 'a', type: 'dir', mode: 0, mtimeNs: '0', cap: a.root }, ['tree']);
  const rb = entryContent({ name: 'b', type: 'dir', mode: 0, mtimeNs: '0', cap: b.root }, ['tree']);
  if (ra.kind === 'lit' || rb.kind === 'lit' || Buffer.compare(ra.id, rb.id) !== 0) await walk(a.entries, b.entries, '', 0);
  return out;
}
