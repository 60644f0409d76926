// A no-network grid for backup tests (tahoe's no-network grid): N DiskStores in temp dirs, one ShareServer
// adapter each, a ServerFinder returning them all, and the owner's repository on top (real pack upload and
// download, real LevelDB index, the repository record in a file), so the real format, codec, blobs, packs and
// verification run. Starts in milliseconds.
import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { DiskStore } from '../../src/store/index.ts';
import { downloadPack, uploadPack, type ServerFinder, type ShareServer } from '../../src/client/index.ts';
import { formatCap, storageIndexOf, type MutableReadCap, type PackCap } from '../../src/caps/index.ts';
import { ownerKey } from '../../src/crypto/kdf.ts';
import { createChunker, type Chunker } from '../../src/format/chunker.ts';
import { openLocalIndex, RecordConflictError, Repository, repoReadCap, type PackStore, type RecordStore } from '../../src/repo/index.ts';
import { contentOf, type BlobSource } from '../../src/backup/index.ts';
import { decodeChunkList } from '../../src/repo/index.ts';
import { storeServer } from '../../src/peer/store-server.ts';

export const GRID_OWNER = 'grid-test-owner';
export const ENCODING = { k: 3, n: 5, happy: 4 };

/** A RecordStore in one local file (compare-and-swap on seq, atomic replace by rename); the daemon's is a slot. */
export function fileRecordStore(path: string): RecordStore & { writes: number; reads: number } {
  const load = async () => {
    try {
      const { seq, payload } = JSON.parse(await readFile(path, 'utf8'));
      return { seq: seq as number, payload: new Uint8Array(Buffer.from(payload, 'base64')) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  };
  const rs = {
    writes: 0,
    /** Reads asked by the repository (the write's own compare of seq aside). */
    reads: 0,
    async read() {
      rs.reads++;
      return load();
    },
    async write(payload: Uint8Array, prevSeq: number | null) {
      const cur = await load();
      if ((cur?.seq ?? null) !== prevSeq) throw new RecordConflictError(prevSeq, cur?.seq ?? null);
      await writeFile(`${path}.tmp`, JSON.stringify({ seq: (prevSeq ?? 0) + 1, payload: Buffer.from(payload).toString('base64') }));
      await rename(`${path}.tmp`, path);
      rs.writes++;
    }
  };
  return rs;
}

/** Packs over a finder (real upload/download), counting what went through. */
export function gridPacks(
  finder: ServerFinder,
  owner = GRID_OWNER,
  stores?: DiskStore[]
): PackStore & { puts: number; gets: number; putBytes: number; deleted: string[] } {
  const p = {
    puts: 0,
    gets: 0,
    putBytes: 0,
    deleted: [] as string[],
    async putPack(bytes: Uint8Array, o: { signal?: AbortSignal } = {}) {
      p.puts++;
      p.putBytes += bytes.length;
      return (await uploadPack(bytes, finder, { ...ENCODING, signal: o.signal })).cap;
    },
    async readPack(cap: PackCap, o: { range?: { offset: number; length: number }; signal?: AbortSignal } = {}) {
      p.gets++;
      return downloadPack(cap, finder, o);
    },
    async deletePack(cap: PackCap) {
      p.deleted.push(formatCap(cap));
      const si = storageIndexOf(cap)!;
      for (const s of stores ?? []) for (const { shareNum } of await s.list(si)) await s.delete(si, shareNum, owner).catch(() => {});
    }
  };
  return p;
}

export interface Grid {
  dir: string;
  stores: DiskStore[];
  servers: ShareServer[];
  finder: ServerFinder;
  secret: Uint8Array;
  packs: ReturnType<typeof gridPacks>;
  record: ReturnType<typeof fileRecordStore>;
  repo: Repository;
  chunker: Chunker;
  /** Reads any repository a cap names; this grid holds one. */
  src: BlobSource;
  /** A second device of the same owner: its own local index (empty), same secret, same swarm. */
  device(name: string): Promise<Repository>;
  /** The packs holding a file's content (its blob, or its chunk list and every chunk). */
  packsOfFile(cap: string): Promise<PackCap[]>;
  /** Delete every share of a pack held by the stores at these indexes. */
  removeShares(cap: PackCap, storeIndexes: number[]): Promise<number>;
  close(): Promise<void>;
}

/**
 * `dir` + `keep`: reopen a grid kept on disk by an earlier run (stores, record, index, with the same secret),
 * and leave it there on close (crash tests run a child process on it between two opens).
 */
export async function createGrid(
  opts: { stores?: number; secret?: Uint8Array; packTargetBytes?: number; packFirstBytes?: number; packIdleSealMs?: number; dir?: string; keep?: boolean } = {}
): Promise<Grid> {
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'p2pb-grid-')));
  const stores: DiskStore[] = [];
  for (let i = 0; i < (opts.stores ?? 5); i++) stores.push(await DiskStore.open(join(dir, `store${i}`), { offer: '10GiB' }));
  const servers = stores.map((s, i) => storeServer(s, { id: `peer-${i}`, owner: GRID_OWNER }));
  const finder: ServerFinder = { candidates: async () => servers };
  const secret = opts.secret ?? randomBytes(32);
  const packs = gridPacks(finder, GRID_OWNER, stores);
  const record = fileRecordStore(join(dir, 'repo-record.json'));
  const open = async (name: string) =>
    new Repository({
      packs,
      record,
      readCap: repoReadCap(secret),
      index: await openLocalIndex(join(dir, `index-${name}`)),
      secret,
      packTargetBytes: opts.packTargetBytes,
      packFirstBytes: opts.packFirstBytes,
      packIdleSealMs: opts.packIdleSealMs
    });
  const repo = await open('main');
  const extra: Repository[] = [];
  const src: BlobSource = { reader: (_repo: MutableReadCap) => repo };
  return {
    dir,
    stores,
    servers,
    finder,
    secret,
    packs,
    record,
    repo,
    src,
    chunker: createChunker(ownerKey(secret, 'chunker')),
    async packsOfFile(cap) {
      const c = contentOf(cap, ['data', 'list']);
      if (c.kind === 'lit') return [];
      const ids = [c.id];
      if (c.kind === 'list') ids.push(...decodeChunkList(await repo.loadBlob('list', c)).map((x) => x.id));
      const out = new Map<string, PackCap>();
      for (const id of ids) {
        const l = await repo.locate(id);
        out.set(formatCap(l.pack), l.pack);
      }
      return [...out.values()];
    },
    async device(name) {
      const r = await open(name);
      extra.push(r);
      return r;
    },
    async removeShares(cap, storeIndexes) {
      const si = storageIndexOf(cap)!;
      let removed = 0;
      for (const i of storeIndexes) {
        for (const { shareNum } of await stores[i].list(si)) {
          await stores[i].delete(si, shareNum, GRID_OWNER);
          removed++;
        }
      }
      return removed;
    },
    async close() {
      for (const r of [repo, ...extra]) await r.close().catch(() => {});
      for (const s of stores) await s.close();
      if (!opts.keep) await rm(dir, { recursive: true, force: true });
    }
  };
}
