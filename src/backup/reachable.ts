// Every stored cap a set of snapshots still needs: the snapshots, their directory objects and files.
// A lease-renewal loop renews exactly these; anything else of this owner may expire. Literal caps are
// left out (they live inside their parent object and have no shares); a slice is kept as its pack (the pack's
// shares hold it). Shared subtrees are read once.
import { formatCap, parseCap, storedCapOf } from '../caps/index.ts';
import { readDir, readSnapshot } from './objects.ts';
import type { ObjectStore } from './types.ts';

export async function reachableCaps(store: ObjectStore, snapshotCaps: Iterable<string>, opts: { signal?: AbortSignal } = {}): Promise<Set<string>> {
  const out = new Set<string>();
  const seenDirs = new Set<string>();
  const keep = (cap: string) => {
    const c = parseCap(cap);
    if (c.type === 'slice') out.add(formatCap(storedCapOf(c)));
    else if (c.type !== 'lit') out.add(cap);
  };
  const visitDir = async (cap: string): Promise<void> => {
    if (seenDirs.has(cap)) return;
    seenDirs.add(cap);
    keep(cap);
    for (const e of await readDir(store, cap, opts.signal)) {
      if (e.type === 'dir') await visitDir(e.cap!);
      else if (e.type === 'file') keep(e.cap!);
    }
  };
  for (const cap of snapshotCaps) {
    opts.signal?.throwIfAborted();
    keep(cap);
    await visitDir((await readSnapshot(store, cap, opts.signal)).root);
  }
  return out;
}
