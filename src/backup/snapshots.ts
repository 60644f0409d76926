// The folder head's list of snapshots: read it, and add a snapshot to it (compare-and-swap on seq).
import { HeadConflictError } from './errors.ts';
import type { FolderHead, HeadSnapshot, HeadStore } from './types.ts';

/** The head's snapshots, oldest first (ties by cap, so the order is total). */
export function listSnapshots(head: FolderHead | null): HeadSnapshot[] {
  return [...(head?.snapshots ?? [])].sort((a, b) => a.time - b.time || (a.cap < b.cap ? -1 : a.cap > b.cap ? 1 : 0));
}

/**
 * Add a stored snapshot to the folder head (call it only once every object of the snapshot is stored).
 * Retries when another writer moved the head in between (HeadConflictError), up to `retries` times. The first
 * try builds on the head as the store last knew it (`known`), unread: a write on a head that moved is refused,
 * and it is read then, without counting as a retry (a device's backups in a row write the head without reading
 * it: one round to its peers instead of two).
 */
export async function commitSnapshot(heads: HeadStore, snapshot: HeadSnapshot, opts: { retries?: number } = {}): Promise<FolderHead> {
  let guess = heads.known?.() ?? null;
  for (let attempt = 0; ;) {
    const unread = guess !== null;
    const cur = guess ?? (await heads.read());
    guess = null;
    const snapshots = listSnapshots(cur?.head ?? null).filter((s) => s.cap !== snapshot.cap);
    const head: FolderHead = { ...(cur?.head.repo ? { repo: cur.head.repo } : {}), snapshots: listSnapshots({ snapshots: [...snapshots, snapshot] }) };
    try {
      await heads.write(head, cur?.seq ?? null);
      return head;
    } catch (err) {
      if (!(err instanceof HeadConflictError)) throw err;
      if (!unread && attempt++ >= (opts.retries ?? 3)) throw err;
    }
  }
}
