// A no-network grid for backup tests (tahoe's no-network grid): N DiskStores in temp dirs, one
// ShareServer adapter each, a ServerFinder returning them all, and an ObjectStore built on the real
// client upload/download, so the real format, codec and verification run. Starts in milliseconds.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { DiskStore } from '../../src/store/index.ts';
import { download, upload, type ServerFinder, type ShareServer } from '../../src/client/index.ts';
import { parseCap, storageIndexOf } from '../../src/caps/index.ts';
import type { FileInput } from '../../src/format/index.ts';
import type { ObjectStore } from '../../src/backup/index.ts';
// One DiskStore-backed ShareServer adapter for every no-network grid (shares, slots, leases, audits).
import { serverFor } from '../client/grid.ts';

export const GRID_OWNER = 'grid-test-owner';
export const CONVERGENCE_SECRET = randomBytes(32);
export const ENCODING = { k: 3, n: 5, happy: 4 };

export interface Grid {
  dir: string;
  stores: DiskStore[];
  servers: ShareServer[];
  finder: ServerFinder;
  objects: ObjectStore;
  /** Delete every share of `cap` held by the stores at these indexes. */
  removeShares(cap: string, storeIndexes: number[]): Promise<number>;
  close(): Promise<void>;
}


export async function createGrid(opts: { stores?: number } = {}): Promise<Grid> {
  const dir = await mkdtemp(join(tmpdir(), 'p2pb-grid-'));
  const stores: DiskStore[] = [];
  for (let i = 0; i < (opts.stores ?? 5); i++) stores.push(await DiskStore.open(join(dir, `store${i}`), { offer: '10GiB' }));
  const servers = stores.map((s, i) => serverFor(s, `peer-${i}`, GRID_OWNER));
  const finder: ServerFinder = { candidates: async () => servers };
  const objects: ObjectStore = {
    async putFile(input: FileInput, o = {}) {
      const r = await upload(input, finder, { ...ENCODING, convergenceSecret: CONVERGENCE_SECRET, signal: o.signal });
      return { cap: r.cap };
    },
    async getFile(cap, o = {}) {
      return download(cap, finder, { signal: o.signal });
    }
  };
  return {
    dir, stores, servers, finder, objects,
    async removeShares(cap, storeIndexes) {
      const si = storageIndexOf(parseCap(cap));
      if (!si) return 0;
      let removed = 0;
      for (const i of storeIndexes) {
        for (const { shareNum } of await stores[i].list(si)) { await stores[i].delete(si, shareNum, GRID_OWNER); removed++; }
      }
      return removed;
    },
    async close() {
      for (const s of stores) await s.close();
      await rm(dir, { recursive: true, force: true });
    }
  };
}

/** A counting decorator around a real ObjectStore (not a mock): how many puts and gets went through. */
export function counting(inner: ObjectStore): ObjectStore & { puts: number; gets: number; putBytes: number } {
  const c = {
    puts: 0, gets: 0, putBytes: 0,
    putFile(input: FileInput, o?: { signal?: AbortSignal }) { c.puts++; c.putBytes += input.size; return inner.putFile(input, o); },
    getFile(cap: string, o?: { signal?: AbortSignal }) { c.gets++; return inner.getFile(cap, o); }
  };
  return c;
}
