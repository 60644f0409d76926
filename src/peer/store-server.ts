// A store in this process seen through the client's ShareServer interface, with no network between: the
// client's upload, download, check, repair, audits and mutable records run against it as against a
// remote peer (tahoe's no-network grid). The tests' grids are built of these; `owner` is the peer id the
// store charges, as the storage protocol would take it from the connection.
// const server = storeServer(await DiskStore.open(dir, { offer: '1GiB' }), { id: 'peer-0', owner: myPeerId });
import type { ShareServer } from '../client/index.ts';
import { proveBlock, startShareCheck } from '../format/index.ts';
import { RemoteRefusedError } from '../net/errors.ts';
import { NotOwnerError, ShareNotFoundError, type LocalStore } from '../store/index.ts';

export interface StoreServerInit {
  /** The id the client knows this server by. */
  id: string;
  /** Whose shares these are: what the store records as owner (charges, renewals, deletes). */
  owner: string;
}

/** What the adapter uses of a store (DiskStore and MemoryStore have it all). */
export type ServedStore = Pick<LocalStore, 'canAccept' | 'beginWrite' | 'list' | 'read' | 'get' | 'putSlot' | 'getSlot' | 'renewLease' | 'delete'>;

export function storeServer(store: ServedStore, init: StoreServerInit): ShareServer {
  const { id, owner } = init;
  return {
    id,
    canAccept: (si, shareNum, size) => store.canAccept(si, shareNum, size, owner),
    async writeShare(si, shareNum, source, size, o) {
      // The storage server's check (src/net/server.ts): a share of this storage index, bytes as its UEB commits.
      const check = startShareCheck(si, shareNum, size, o.ueb);
      if (typeof check === 'string') throw new RemoteRefusedError('invalid', `not a share of this storage index: ${check}`);
      const d = await store.canAccept(si, shareNum, size, owner);
      if (!d.ok && d.reason === 'exists') return { status: 'exists' };
      const w = await store.beginWrite(si, shareNum, owner, size);
      try {
        for await (const chunk of source) {
          const wrong = check.push(chunk);
          if (wrong) throw new RemoteRefusedError('invalid', wrong);
          await w.write(chunk);
        }
        const wrong = check.finish();
        if (wrong) throw new RemoteRefusedError('invalid', wrong);
        await w.commit();
        return { status: 'written' };
      } catch (err) {
        await w.abort();
        throw err;
      }
    },
    list: (si) => store.list(si),
    read: (si, shareNum, ranges) => Promise.all(ranges.map(([off, len]) => store.read(si, shareNum, off, len))),
    async putSlot(si, record, o) {
      const r = await store.putSlot(si, record, owner, { leaseUntil: o?.leaseUntil });
      return { status: r.status, seq: r.seq };
    },
    getSlot: async (si) => (await store.getSlot(si)) ?? null,
    async renew(si, shareNums, until) {
      if (shareNums === 'all') return store.renewLease(si, 'all', owner, until);
      let renewed = 0;
      for (const n of shareNums) renewed += await store.renewLease(si, n, owner, until);
      return renewed;
    },
    async delete(si, shareNum) {
      // Others' shares refuse as the network does (RemoteRefusedError 'not-owner'), which repair expects.
      try {
        await store.delete(si, shareNum, owner);
      } catch (e) {
        if (e instanceof NotOwnerError) throw new RemoteRefusedError('not-owner', e.message);
        throw e;
      }
    },
    async audit(si, shareNum, segment, nonce) {
      const rec = await store.get(si, shareNum);
      if (!rec) throw new ShareNotFoundError(Buffer.from(si).toString('hex'), shareNum);
      return proveBlock((o, l) => store.read(si, shareNum, o, l), rec.size, segment, nonce);
    }
  };
}
