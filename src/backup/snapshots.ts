// The folder head's list of snapshots: read it, and add a snapshot to it (compare-and-swap on seq).
import { HeadConflictError } from './errors.ts';
import type { FolderHead, HeadSnapshot, HeadStore } from './types.ts';

/** The head's snapshots, oldest first (ties by cap, so the order is total). */
export function listSnapshots(head: FolderHead | null): HeadSnapshot[] {
  return [...(head?.snapshots ?? [])].sort((a, b) => a.time - b.time || (a.cap < b.cap ? -1 : a.cap > b.cap ? 1 : 0));
}

/**
 * Add a stored snapshot to the folder head (call it only once every object of the snapshot is stored).
 * Retries when another writer moved the head in between (HeadConflictError), up to `retries` times.
 */
export async function commitSnapshot(heads: HeadStore, snapshot: HeadSnapshot, opts: { retries?: number } = {}): Promise<FolderHead> {
  for (let attempt = 0; ; attempt++) {
    const cur = await heads.read();
    const snapshots = listSnapshots(cur?.head ?? null).filter((s) => s.cap !== snapshot.cap);
    const head: FolderHead = { ...(cur?.head.repo ? { repo: cur.head.repo } : {}), snapshots: listSnapshots({ snapshots: [...snapshots, snapshot] }) };
    try {
      await heads.write(head, cur?.seq ?? null);
      return head;
    } catch (err) {
      if (!(err instanceof HeadConflictError) || attempt >= (opts.retries ?? 3)) throw err;
    }
  }
}
