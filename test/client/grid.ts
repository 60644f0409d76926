// A no-network grid for health tests: N DiskStores, one ShareServer each (with renew, delete and audit, owner
// fixed per grid client), and a finder returning them all. The real format, codec and store run.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { DiskStore, ShareNotFoundError, NotOwnerError } from '../../src/store/index.ts';
import { upload, type ServerFinder, type ShareServer } from '../../src/client/index.ts';
import { bytesInput, proveBlock } from '../../src/format/index.ts';
import { RemoteRefusedError } from '../../src/net/errors.ts';

export const OWNER = 'health-grid-owner';

export function serverFor(store: DiskStore, id: string, owner = OWNER, state = { down: false }): ShareServer {
  const up = () => { if (state.down) throw new Error(`${id} is down`); };
  return {
    id,
    async canAccept(si, shareNum, size) { up(); return store.canAccept(si, shareNum, size, owner); },
    async writeShare(si, shareNum, source, size) {
      up();
      const d = await store.canAccept(si, shareNum, size, owner);
      if (!d.ok && d.reason === 'exists') return { status: 'exists' };
      const w = await store.beginWrite(si, shareNum, owner, size);
      try {
        for await (const chunk of source) await w.write(chunk);
        await w.commit();
        return { status: 'written' };
      } catch (err) { await w.abort(); throw err; }
    },
    async list(si) { up(); return store.list(si); },
    async read(si, shareNum, ranges) { up(); return Promise.all(ranges.map(([off, len]) => store.read(si, shareNum, off, len))); },
    async putSlot(si, record, o) { up(); const r = await store.putSlot(si, record, owner, { leaseUntil: o?.leaseUntil }); return { status: r.status, seq: r.seq }; },
    async getSlot(si) { up(); return (await store.getSlot(si)) ?? null; },
    async renew(si, shareNums, until) { up(); return shareNums === 'all' ? store.renewLease(si, 'all', owner, until) : (await Promise.all(shareNums.map((n) => store.renewLease(si, n, owner, until)))).reduce((a, b) => a + b, 0); },
    async delete(si, shareNum) {
      up();
      try { await store.delete(si, shareNum, owner); } catch (e) { if (e instanceof NotOwnerError) throw new RemoteRefusedError('not-owner', e.message); throw e; }
    },
    async audit(si, shareNum, segment, nonce) {
      up();
      const rec = await store.get(si, shareNum);
      if (!rec) throw new ShareNotFoundError(Buffer.from(si).toString('hex'), shareNum);
      return proveBlock((o, l) => store.read(si, shareNum, o, l), rec.size, segment, nonce);
    }
  };
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
  const secret = randomBytes(32);
  return {
    stores, servers, state, finder,
    async put(bytes) {
      const r = await upload(bytesInput(bytes), finder, { k: 3, n: 5, happy: 5, convergenceSecret: secret, segmentSize: 4096 });
      return { cap: r.cap, verifyCap: r.verifyCap!, placements: r.placements };
    },
    async close() {
      for (const s of stores) await s.close();
      await rm(dir, { recursive: true, force: true });
    }
  };
}
