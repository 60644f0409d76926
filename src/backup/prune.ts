// Prune a repository: free what no kept snapshot needs. The repository's prune lock excludes backups (on any
// device of the owner) while the live set is computed and the index replaced; `snapshotsOf` must name every kept
// snapshot of every folder that stores into the repository (the record's folder list: src/peer/folders.ts).
import { prune, type PruneOptions, type PruneReport, type Repository } from '../repo/index.ts';
import { reachableBlobs } from './reachable.ts';
import type { BlobSource } from './types.ts';

export async function pruneRepository(
  repo: Repository,
  src: BlobSource,
  snapshotsOf: (folders: string[]) => Promise<string[]>,
  o: PruneOptions = {}
): Promise<PruneReport> {
  await repo.publish({ signal: o.signal });
  await repo.lock('prune', o.signal);
  try {
    await repo.sync(o.signal);
    const { record } = await repo.readRecord(o.signal);
    const live = await reachableBlobs(src, await snapshotsOf(record.folders), { signal: o.signal });
    return await prune(repo, live.ids, o);
  } finally {
    await repo.unlock().catch(() => {});
  }
}
