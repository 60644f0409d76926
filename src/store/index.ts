// A storage peer's disk: opaque shares keyed by (storage index, share number), quota, leases, GC. No network here.
// const store = await DiskStore.open(home, { offer: '20GiB' });
// const w = await store.beginWrite(si, 0, ownerPeerId, bytes.length); await w.write(bytes); await w.commit();
//
// Mutable slots (signed records with sequence numbers, writable by the holder of a key): slots.ts, files under
// <home>/slots/, index keys prefixed 'm!'. await store.putSlot(si, signedRecord, peerId); await store.getSlot(si);
export * from './constants.ts';
export * from './errors.ts';
export * from './types.ts';
export { parseSize, formatSize } from './size.ts';
export { DiskStore, siToHex, checkSi, checkShareNum } from './disk-store.ts';
export { checkSlotRecord, SLOT_KEY_PREFIX } from './slots.ts';
export type { DiskStoreOptions } from './disk-store.ts';
