// The sync engine's persistent state, one LevelDB in the home folder (HOME/sync): per watched folder
// its configuration and caps, its state, and the journal of the batch in progress. Every transition
// is one atomic put, so after a crash the record says exactly how far the last batch got.
import { Level } from 'level';
import { mkdir } from 'node:fs/promises';
import type { BackupStats } from './types.ts';

export type FolderState = 'in-sync' | 'scanning' | 'uploading' | 'committing' | 'interrupted' | 'error';

/** The batch in progress. `snapshotCap` is set once every share of the new snapshot is placed. */
export interface BatchJournal {
  id: string;
  startedAt: number;
  phase: 'scanning' | 'uploading' | 'committing';
  snapshotCap?: string;
}

export interface FolderRecord {
  id: string;
  path: string;
  /** The folder head's write cap (p2pb:mw:…): kept by the owner only. */
  writeCap: string;
  /** The folder head's read cap (p2pb:mr:…): the root cap that restores the folder anywhere. */
  rootCap: string;
  watch: boolean;
  excludes: string[];
  /** Skip directories containing a file of one of these names. */
  excludeIfPresent?: string[];
  state: FolderState;
  /** The last committed snapshot; `root` (its root directory cap) tells an unchanged folder. */
  lastSnapshot?: { cap: string; time: number; root?: string };
  lastError?: string;
  /** What the last completed backup of this folder did. */
  lastStats?: BackupStats;
  pending: number;
  batch?: BatchJournal;
}

export class SyncJournal {
  readonly db: Level<string, FolderRecord>;
  private constructor(db: Level<string, FolderRecord>) {
    this.db = db;
  }

  static async open(dir: string): Promise<SyncJournal> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const db = new Level<string, FolderRecord>(dir, { valueEncoding: 'json' });
    await db.open();
    return new SyncJournal(db);
  }

  async get(id: string): Promise<FolderRecord | undefined> {
    return (await this.db.get(`folder!${id}`)) ?? undefined;
  }

  async put(rec: FolderRecord): Promise<void> {
    await this.db.put(`folder!${rec.id}`, rec);
  }

  async delete(id: string): Promise<void> {
    await this.db.del(`folder!${id}`);
  }

  async list(): Promise<FolderRecord[]> {
    const out: FolderRecord[] = [];
    for await (const v of this.db.values({ gt: 'folder!', lt: 'folder!\xff' })) out.push(v);
    return out;
  }

  private tail: Promise<unknown> = Promise.resolve();

  /** Read-modify-write, serialized so concurrent updates (watcher events during a batch) never lose one. */
  update(id: string, f: (rec: FolderRecord) => void): Promise<FolderRecord> {
    const next = this.tail.then(async () => {
      const rec = await this.get(id);
      if (!rec) throw new Error(`internal: no folder ${id}`);
      f(rec);
      await this.put(rec);
      return rec;
    });
    this.tail = next.catch(() => {});
    return next;
  }

  close(): Promise<void> {
    return this.db.close();
  }
}
