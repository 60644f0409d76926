// A storage peer's store: opaque shares keyed by (storage index, share number), quota, leases, GC. No network here.
// Two backends behind one contract (types.ts LocalStore, test/store/suite.ts): DiskStore (files + LevelDB)
// and MemoryStore (RAM: tests, throwaway peers), sharing their accounting (accounting.ts); openStore picks one.
// const store = await DiskStore.open(home, { offer: '20GiB' });   // or: await openStore({ kind: 'memory' }, dir, { offer })
// const w = await store.beginWrite(si, 0, ownerPeerId, bytes.length); await w.write(bytes); await w.commit();
//
// Mutable slots (signed records with sequence numbers, writable by the holder of a key): slots.ts, files under
// <home>/slots/, index keys prefixed 'm!'. await store.putSlot(si, signedRecord, peerId); await store.getSlot(si);
export * from './constants.ts';
export * from './errors.ts';
export * from './types.ts';
export { parseSize, formatSize } from './size.ts';
export { siToHex, checkSi, checkShareNum } from './checks.ts';
export { StoreAccounting, shareCharge, type AccountingInit, type OwnerLimits } from './accounting.ts';
export { DiskStore } from './disk-store.ts';
export { MemoryStore } from './memory-store.ts';
export { openStore, STORE_KINDS, type StoreKind, type StoreChoice } from './open.ts';
export { checkSlotRecord, SLOT_KEY_PREFIX } from './slots.ts';
export type { DiskStoreOptions } from './disk-store.ts';
