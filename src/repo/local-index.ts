// The owner's index on this device (LevelDB): blob id -> location, plus what has been merged from and published
// to the swarm. It is a cache of the swarm's index parts plus this device's blobs not yet published; losing it
// costs one rebuild from the swarm (Repository.sync), never data.
// Keys: `b!<id hex>` -> 51-byte location (index-part.ts); `n!<id hex>` -> location not yet in a published part;
// `p!<part id hex>` -> merged part; `g` -> the record generation the `b!` entries belong to; `x!<pack key>` -> a
// pack not trusted for deduplication (found lost by a lease renewal: `distrust`); `c` -> how many times packs were
// newly distrusted (u64); `u` -> until when the leases of the packs the entries name are known to run (ms, u64).
import { randomBytes } from 'node:crypto';
import { Level } from 'level';
import { packKey } from '../caps/index.ts';
import { INDEX_WRITE_BATCH } from './constants.ts';
import { decodeLocation, encodeLocation, type IndexEntry } from './index-part.ts';
import type { BlobLocation } from './types.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

export interface BlobIndex {
  /** Locations of many ids at once (undefined: unknown). */
  getMany(idsHex: string[]): Promise<(BlobLocation | undefined)[]>;
  /** Record blobs this device stored (also kept as unpublished until `markPublished`). */
  addOwn(entries: IndexEntry[]): Promise<void>;
  /** Merge a part read from the swarm. */
  addPart(partIdHex: string, entries: IndexEntry[]): Promise<void>;
  hasPart(partIdHex: string): Promise<boolean>;
  unpublished(): Promise<IndexEntry[]>;
  /** The unpublished entries in pages of at most `size` (id order), each read when asked for: a publish of millions holds one page. */
  unpublishedPages(size: number): AsyncIterable<IndexEntry[]>;
  markPublished(idsHex: string[]): Promise<void>;
  generation(): Promise<number>;
  /** Forget every merged entry and part (a prune replaced the index); unpublished entries stay. */
  reset(generation: number): Promise<void>;
  entries(): AsyncIterable<IndexEntry>;
  /** A random id of this index's device, the same across restarts (its repository locks are its own after a crash). */
  deviceId(): Promise<string>;
  /**
   * getMany for deduplication: undefined also for a blob whose pack is distrusted (a backup stores it again, and its
   * new location replaces the old one). Reads (locate) keep using getMany: a pack distrusted wrongly still serves.
   */
  heldMany(idsHex: string[]): Promise<(BlobLocation | undefined)[]>;
  /** Distrust these packs (packKey) for deduplication; true if any was not distrusted yet. */
  distrust(packKeys: Iterable<string>): Promise<boolean>;
  /** Trust these packs again (a renewal found them held). */
  trust(packKeys: Iterable<string>): Promise<void>;
  /** How many times packs were newly distrusted (a backup cache vouched for under an older count is asked again). */
  distrustCount(): Promise<number>;
  /** Until when (ms) the leases of the packs the entries name are known to run; 0: not known. */
  leasesUntil(): Promise<number>;
  setLeasesUntil(ms: number): Promise<void>;
  close(): Promise<void>;
}

const u64 = (n: number) => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(Math.max(0, Math.floor(n))));
  return b;
};
/** A stored u64 (generation, count, time); absent, or not 8 bytes (a damaged value): 0, "not known", which is safe for each. */
const readU64 = (b: Uint8Array | undefined) => (b?.length === 8 ? Number(new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0)) : 0);
/** Locations as deduplication sees them: none in a distrusted pack. */
const held = (locs: (BlobLocation | undefined)[], distrusted: ReadonlySet<string>) =>
  distrusted.size ? locs.map((l) => (l && distrusted.has(packKey(l.pack)) ? undefined : l)) : locs;

type Op = { type: 'put'; key: string; value: Uint8Array } | { type: 'del'; key: string };

/** LevelDB-backed index (the owner's devices). */
export async function openLocalIndex(dir: string): Promise<BlobIndex> {
  const db = new Level<string, Uint8Array>(dir, { valueEncoding: 'view' });
  await db.open();
  const batch = async (ops: Op[]) => {
    for (let i = 0; i < ops.length; i += INDEX_WRITE_BATCH) await db.batch(ops.slice(i, i + INDEX_WRITE_BATCH));
  };
  // Distrusted packs (few: kept in memory), and how many times some were newly distrusted.
  const distrusted = new Set<string>();
  for await (const k of db.keys({ gte: 'x!', lt: 'x"' })) distrusted.add(k.slice(2));
  let count = readU64(await db.get('c'));
  const getMany = async (ids: string[]) => {
    if (!ids.length) return [];
    // `b!` alone: every `n!` entry has its `b!` twin (addOwn writes both, reset copies `n!` back). A reset cut
    // short by a crash may leave an `n!` without it until the next sync finishes the reset: meanwhile the blob
    // looks unknown, which costs a second copy or a sync (locate), never a wrong answer.
    const got = await db.getMany(ids.map((id) => `b!${id}`));
    return got.map((v) => (v === undefined ? undefined : decodeLocation(v)));
  };
  return {
    getMany,
    async heldMany(ids) {
      return held(await getMany(ids), distrusted);
    },
    async addOwn(entries) {
      await batch(
        entries.flatMap((e) => {
          const v = encodeLocation(e);
          return [
            { type: 'put' as const, key: `b!${hex(e.id)}`, value: v },
            { type: 'put' as const, key: `n!${hex(e.id)}`, value: v }
          ];
        })
      );
    },
    async addPart(partId, entries) {
      await batch([
        ...entries.map((e) => ({ type: 'put' as const, key: `b!${hex(e.id)}`, value: encodeLocation(e) })),
        { type: 'put', key: `p!${partId}`, value: new Uint8Array(1) }
      ]);
    },
    async hasPart(partId) {
      return (await db.get(`p!${partId}`)) !== undefined;
    },
    async unpublished() {
      const out: IndexEntry[] = [];
      for await (const [k, v] of db.iterator({ gte: 'n!', lt: 'n"' })) out.push({ id: Uint8Array.from(Buffer.from(k.slice(2), 'hex')), ...decodeLocation(v) });
      return out;
    },
    async *unpublishedPages(size) {
      let after = 'n!';
      for (;;) {
        // One read of the whole page (`all`), not one promise per entry: it runs at a commit's end with the link
        // idle. 6,371 entries: 12 ms against 23-46 ms on an idle machine; in the client of bench wan's include row,
        // its peers still busy with the last shares, 102 ms against 170 ms.
        const rows = await db.iterator({ gt: after, lt: 'n"', limit: size }).all();
        if (!rows.length) return;
        const page: IndexEntry[] = rows.map(([k, v]) => ({ id: Uint8Array.from(Buffer.from(k.slice(2), 'hex')), ...decodeLocation(v) }));
        after = rows[rows.length - 1][0];
        yield page;
        if (page.length < size) return;
      }
    },
    async markPublished(ids) {
      await batch(ids.map((id) => ({ type: 'del', key: `n!${id}` })));
    },
    async generation() {
      return readU64(await db.get('g'));
    },
    async reset(generation) {
      const ops: Op[] = [];
      for await (const k of db.keys({ gte: 'b!', lt: 'b"' })) ops.push({ type: 'del', key: k });
      for await (const k of db.keys({ gte: 'p!', lt: 'p"' })) ops.push({ type: 'del', key: k });
      // Unpublished entries are this device's newest blobs: keep them visible.
      for await (const [k, v] of db.iterator({ gte: 'n!', lt: 'n"' })) ops.push({ type: 'put', key: `b!${k.slice(2)}`, value: v });
      // The generation last (the batches are written in order): a reset cut short is done again by the next sync.
      ops.push({ type: 'put', key: 'g', value: u64(generation) });
      await batch(ops);
    },
    async *entries() {
      for await (const [k, v] of db.iterator({ gte: 'b!', lt: 'b"' })) yield { id: Uint8Array.from(Buffer.from(k.slice(2), 'hex')), ...decodeLocation(v) };
    },
    async deviceId() {
      const d = await db.get('d');
      if (d) return Buffer.from(d).toString('hex');
      const id = randomBytes(8);
      await db.put('d', id);
      return Buffer.from(id).toString('hex');
    },
    async distrust(keys) {
      const fresh = [...new Set(keys)].filter((k) => !distrusted.has(k));
      if (!fresh.length) return false;
      // In memory first (a deduplication asked meanwhile already sees it), then on disk in one batch with the count.
      for (const k of fresh) distrusted.add(k);
      count++;
      await batch([
        ...fresh.map((k) => ({ type: 'put' as const, key: `x!${k}`, value: new Uint8Array(1) })),
        { type: 'put' as const, key: 'c', value: u64(count) }
      ]);
      return true;
    },
    async trust(keys) {
      const back = [...new Set(keys)].filter((k) => distrusted.has(k));
      for (const k of back) distrusted.delete(k);
      await batch(back.map((k) => ({ type: 'del' as const, key: `x!${k}` })));
    },
    async distrustCount() {
      return count;
    },
    async leasesUntil() {
      return readU64(await db.get('u'));
    },
    async setLeasesUntil(ms) {
      await db.put('u', u64(ms));
    },
    async close() {
      await db.close();
    }
  };
}

/** In-memory index (a reader without the owner's secret, e.g. a read-only device restoring by root cap). */
export function memoryIndex(): BlobIndex {
  const b = new Map<string, BlobLocation>();
  const parts = new Set<string>();
  const device = randomBytes(8).toString('hex');
  let gen = 0;
  let leases = 0;
  let count = 0;
  const distrusted = new Set<string>();
  return {
    async getMany(ids) {
      return ids.map((id) => b.get(id));
    },
    async heldMany(ids) {
      return held(
        ids.map((id) => b.get(id)),
        distrusted
      );
    },
    async addOwn(entries) {
      for (const e of entries) b.set(hex(e.id), e);
    },
    async addPart(partId, entries) {
      for (const e of entries) b.set(hex(e.id), e);
      parts.add(partId);
    },
    async hasPart(partId) {
      return parts.has(partId);
    },
    async unpublished() {
      return [];
    },
    async *unpublishedPages() {},
    async markPublished() {},
    async generation() {
      return gen;
    },
    async reset(g) {
      b.clear();
      parts.clear();
      gen = g;
    },
    async *entries() {
      for (const [id, l] of b) yield { id: Uint8Array.from(Buffer.from(id, 'hex')), ...l };
    },
    async deviceId() {
      return device;
    },
    async distrust(keys) {
      const fresh = [...new Set(keys)].filter((k) => !distrusted.has(k));
      for (const k of fresh) distrusted.add(k);
      if (fresh.length) count++;
      return fresh.length > 0;
    },
    async trust(keys) {
      for (const k of keys) distrusted.delete(k);
    },
    async distrustCount() {
      return count;
    },
    async leasesUntil() {
      return leases;
    },
    async setLeasesUntil(ms) {
      leases = ms;
    },
    async close() {}
  };
}
