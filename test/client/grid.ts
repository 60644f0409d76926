// A no-network grid for health tests: N DiskStores, one ShareServer each (src/peer/store-server.ts: with
// renew, delete and audit, owner fixed per grid client), and a finder returning them all. The real
// format, codec and store run.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiskStore, type LocalStore } from '../../src/store/index.ts';
import { uploadPack, type ServerFinder, type ShareServer } from '../../src/client/index.ts';
import { storeServer } from '../../src/peer/store-server.ts';

export const OWNER = 'health-grid-owner';

/** The store as a ShareServer (src/peer/store-server.ts) that fails every call while `state.down`. */
export function serverFor(store: LocalStore, id: string, owner = OWNER, state = { down: false }): ShareServer {
  const server = storeServer(store, { id, owner });
  const up = () => {
    if (state.down) throw new Error(`${id} is down`);
  };
  const wrapped = Object.entries(server).map(([k, v]) => [
    k,
    typeof v === 'function'
      ? async (...args: unknown[]) => {
          up();
          return v(...args);
        }
      : v
  ]);
  return Object.fromEntries(wrapped) as ShareServer;
}

export interface HealthGrid {
  stores: DiskStore[];
  servers: ShareServer[];
  state: { down: boolean }[];
  finder: ServerFinder;
  put(bytes: Uint8Array): Promise<{ cap: string; verifyCap: string; placements: Record<string, string[]> }>;
  close(): Promise<void>;
}

export async function createHealthGrid(count = 7, opts: { now?: () => number } = {}): Promise<HealthGrid> {
  const dir = await mkdtemp(join(tmpdir(), 'p2pb-hgrid-'));
  const stores: DiskStore[] = [];
  for (let i = 0; i < count; i++) stores.push(await DiskStore.open(join(dir, `s${i}`), { offer: '1GiB', now: opts.now }));
  const state = stores.map(() => ({ down: false }));
  const servers = stores.map((s, i) => serverFor(s, `peer-${i}`, OWNER, state[i]));
  const finder: ServerFinder = { candidates: async () => servers };
  return {
    stores,
    servers,
    state,
    finder,
    async put(bytes) {
      const r = await uploadPack(bytes, finder, { k: 3, n: 5, happy: 5, segmentSize: 4096 });
      return { cap: r.capText, verifyCap: r.capText, placements: r.placements };
    },
    async close() {
      for (const s of stores) await s.close();
      await rm(dir, { recursive: true, force: true });
    }
  };
}
