// A repository: one owner's blobs, the packs that hold them, and the index that says where each one is.
// Writing needs the owner's secret (blob ids and keys derive from it); reading needs only the repository's read
// cap and a blob's reference. Like restic's repository, on top of erasure-coded packs in the swarm.
// 1. saveBlobs: each plaintext gets its id and key from one hash under the owner's secret; an id already in the
//    index (or stored earlier in this run) is not stored again; others are compressed, sealed and appended to a
//    pack (trees, lists, snapshots and index parts go to their own packs, so reading trees never pulls data).
// 2. flush: every pack stored; each blob's location goes to the local index as "unpublished".
// 3. publish: the unpublished locations become an index part (a blob of kind 'index'), listed in the repository
//    record by compare-and-swap, so other devices of the owner and readers without the local index find them.
// 4. loadBlob: id -> location (local index, or the swarm's parts merged on demand) -> verified pack bytes ->
//    the sealed blob opened with its key and checked to be of the kind asked for.
import { hostname } from 'node:os';
import { BLOB_ID_BYTES, BLOB_KIND_CODES, formatCap, packKey, toReadCap, type BlobCap, type MutableWriteCap } from '../caps/index.ts';
import { blobKeys, ownerKey } from '../crypto/kdf.ts';
import { faultPoint } from '../common/fault.ts';
import { taggedHash } from '../crypto/hash.ts';
import {
  INDEX_PART_ENTRIES,
  INDEX_WRITE_BATCH,
  LOCATE_AHEAD_MAX,
  LOCK_REFRESH_MS,
  LOCK_STALE_MS,
  PACK_POOL_BYTES,
  SMALL_PLAIN_MAX,
  SMALL_PLAIN_POOL_BYTES,
  SMALL_PLAIN_POOL_UNIT,
  PACK_POOL_IDLE_MS,
  RECORD_MAX_INDEX_PARTS
} from './constants.ts';
import { BufferPool } from '../common/buffer-pool.ts';
import { openBlob, prepareBlob, sealPreparedInto } from './blob.ts';
import { BlobIntegrityError, BlobNotFoundError, RecordConflictError, RepoConflictError, RepoLockedError } from './errors.ts';
import { decodeIndexPart, type IndexEntry } from './index-part.ts';
import { storeIndexPart } from './parts.ts';
import type { BlobIndex } from './local-index.ts';
import { PackCache, packPool, type ReadPlan } from './pack-cache.ts';
import { createPacker, type Packer } from './packer.ts';
import { decodeRecord, emptyRecord, encodeRecord, type IndexPartRef, type RepoLock, type RepoRecord } from './record.ts';
import type { BlobKind, BlobLocation, BlobRef, MutableReadCap, PackCap, PackStore, RecordStore } from './types.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const DATA_KINDS: ReadonlySet<BlobKind> = new Set(['data']);
/** Record compare-and-swap attempts before giving up (another device keeps writing it). */
const RECORD_RETRIES = 8;
/** Ids per index read in locateMany. */
const LOCATE_BATCH = 1024;

/** The write cap of the owner's repository slot: derived from the owner's secret, the same on every device. */
export function repoWriteCap(secret: Uint8Array): MutableWriteCap {
  return { type: 'mw', seed: ownerKey(secret, 'repo-slot') };
}

export interface RepositoryInit {
  packs: PackStore;
  /** The repository slot (read-only use needs only `read`). */
  record: RecordStore;
  /** The slot's read cap (blob caps carry it). */
  readCap: MutableReadCap;
  index: BlobIndex;
  /** The owner's secret: needed to store blobs; a reader without it can only load them. */
  secret?: Uint8Array;
  /** Lock holder name; default host and the device id its local index keeps (a restarted process owns its old locks). */
  holder?: string;
  packTargetBytes?: number;
  /** The first pack of a run (PACK_FIRST_BYTES; packTargetBytes: every pack full size). */
  packFirstBytes?: number;
  /** PACK_IDLE_SEAL_MS (0: a pack is sealed only when full or flushed). */
  packIdleSealMs?: number;
  packsInFlight?: number;
}

export interface SaveResult {
  ref: BlobRef;
  isNew: boolean;
  stored: Promise<void>;
}

export interface RepoStats {
  blobsNew: number;
  blobsKnown: number;
  bytesNew: number;
  sealedNew: number;
  packs: number;
  packBytes: number;
}

/** Blob plaintexts loaded `pooled` and given back by releaseBlob (a restore's chunks once written): PACK_POOL_BYTES at most. */
export const plainPool = new BufferPool({ maxBytes: PACK_POOL_BYTES, idleMs: PACK_POOL_IDLE_MS });
/** ... and those of small blobs (SMALL_PLAIN_MAX). */
export const smallPlainPool = new BufferPool({ maxBytes: SMALL_PLAIN_POOL_BYTES, idleMs: PACK_POOL_IDLE_MS, unit: SMALL_PLAIN_POOL_UNIT });

/** `loc`, checked to be a `kind` blob inside its pack (the index is local, but built from what peers served). */
function checkKind(kind: BlobKind, loc: BlobLocation): BlobLocation {
  if (loc.kind !== kind) throw new BlobIntegrityError(`the index says it is a ${loc.kind} blob, a ${kind} blob was expected`, { kind, indexed: loc.kind });
  if (loc.offset + loc.length > loc.pack.size) throw new BlobIntegrityError('its range lies outside its pack', { offset: loc.offset, length: loc.length });
  return loc;
}

export class Repository {
  readonly readCap: MutableReadCap;
  readonly index: BlobIndex;
  readonly packs: PackStore;
  readonly stats: RepoStats = { blobsNew: 0, blobsKnown: 0, bytesNew: 0, sealedNew: 0, packs: 0, packBytes: 0 };
  private readonly record: RecordStore;
  private readonly secret?: Uint8Array;
  private holderName: string | null;
  private readonly cache: PackCache;
  private readonly init: RepositoryInit;
  private packers = new Map<'data' | 'meta', Packer>();
  /**
   * Blobs being stored in this run, by id: a second copy in one run is not stored again. An id leaves once its
   * location is in the local index (a batch at a time, as packs are stored), so the map is bounded by the packs
   * in flight, not by the run: at every moment a blob admitted to a pack is here, in the index, or failed.
   */
  private pending = new Map<string, { kind: BlobKind; stored: Promise<IndexEntry> }>();
  /** Locations of blobs stored in this run and not yet written to the local index (at most INDEX_WRITE_BATCH). */
  private own: IndexEntry[] = [];
  /** The local-index writes of stored batches, in order; one that failed leaves its entries to indexRun. */
  private indexing: Promise<void> = Promise.resolve();
  /** Locations looked up by locateAhead and not asked for yet, by hex id (oldest first; LOCATE_AHEAD_MAX at most). */
  private readonly ahead = new Map<string, BlobLocation>();
  private lastSync = 0;
  private syncing: Promise<void> | null = null;
  private lockKind: RepoLock['kind'] | null = null;
  private lockTimer: NodeJS.Timeout | null = null;
  /**
   * The record as this device last read or wrote it: the first guess of the next update, whose compare-and-swap
   * on seq tells a stale guess (a backup's lock, publish and folder list cost one record read each, not two).
   */
  private known: { seq: number | null; record: RepoRecord } | null = null;

  constructor(init: RepositoryInit) {
    this.init = init;
    this.readCap = init.readCap;
    this.index = init.index;
    this.packs = init.packs;
    this.record = init.record;
    this.secret = init.secret;
    this.holderName = init.holder ?? null;
    this.cache = new PackCache(init.packs);
  }

  get canWrite(): boolean {
    return this.secret !== undefined;
  }

  /** The cap of a blob of this repository (what a snapshot, a file or a directory is named by outside it). */
  blobCap(kind: BlobKind, ref: BlobRef): BlobCap {
    return { type: 'blob', kind, id: ref.id, key: ref.key, repo: this.readCap };
  }

  private packer(kind: BlobKind): Packer {
    const which = DATA_KINDS.has(kind) ? 'data' : 'meta';
    let p = this.packers.get(which);
    if (!p) {
      p = createPacker(this.packs, {
        targetBytes: this.init.packTargetBytes,
        firstBytes: this.init.packFirstBytes,
        idleSealMs: this.init.packIdleSealMs,
        inFlight: this.init.packsInFlight,
        onPack: (bytes) => {
          this.stats.packs++;
          this.stats.packBytes += bytes;
        }
      });
      this.packers.set(which, p);
    }
    return p;
  }

  /**
   * Store blobs of one kind (content already known is not stored again). Resolves once each is admitted to a
   * pack (waiting while packs upload); `stored` settles when its pack is in the swarm. Plaintexts are not kept.
   */
  async saveBlobs(kind: BlobKind, plains: readonly Uint8Array[], o: { signal?: AbortSignal; compress?: boolean } = {}): Promise<SaveResult[]> {
    if (!this.secret) throw new TypeError('this repository was opened without the owner secret: it can only read');
    // Before the first store, merge what the owner's other devices (or this one, before its index was lost)
    // published: their blobs are not stored again. Callers sync again at the start of each backup.
    if (this.lastSync === 0) await this.sync(o.signal);
    const code = BLOB_KIND_CODES[kind];
    const keys = plains.map((p) => blobKeys(this.secret!, code, p));
    const ids = keys.map((k) => hex(k.id));
    // The index's answers by id: a blob repeated in this call, or stored meanwhile by another call, is pending by
    // the time the loop reaches it, so answers taken in order would shift onto the blobs after it.
    const ask = [...new Set(ids.filter((id) => !this.pending.has(id)))];
    const answers = await this.index.heldMany(ask);
    const known = new Map(ask.map((id, i) => [id, answers[i]]));
    const out: SaveResult[] = [];
    for (let i = 0; i < plains.length; i++) {
      o.signal?.throwIfAborted();
      const id = ids[i];
      const ref: BlobRef = keys[i];
      const pend = this.pending.get(id);
      if (pend) {
        this.stats.blobsKnown++;
        out.push({ ref, isNew: false, stored: pend.stored.then(() => {}) });
        continue;
      }
      // Pending when the index was asked, and in the index by now (its pack was stored meanwhile): ask again.
      if (!known.has(id)) known.set(id, (await this.index.heldMany([id]))[0]);
      const loc = known.get(id);
      if (loc && loc.kind === kind) {
        this.stats.blobsKnown++;
        out.push({ ref, isNew: false, stored: Promise.resolve() });
        continue;
      }
      const prepared = prepareBlob(plains[i], { compress: o.compress });
      this.stats.blobsNew++;
      this.stats.bytesNew += plains[i].length;
      this.stats.sealedNew += prepared.sealedLength;
      // Sealed straight into its pack (no buffer of its own, no copy when the pack is closed).
      const { stored } = await this.packer(kind).addWith(
        ref.id,
        kind,
        prepared.sealedLength,
        (dest) => sealPreparedInto(dest, kind, prepared, ref.key),
        o.signal
      );
      this.pending.set(id, { kind, stored });
      const done = stored.then((e) => {
        this.own.push(e);
        if (this.own.length >= INDEX_WRITE_BATCH) this.indexStored();
      });
      done.catch(() => {});
      out.push({ ref, isNew: true, stored: done });
    }
    return out;
  }

  async saveBlob(kind: BlobKind, plain: Uint8Array, o: { signal?: AbortSignal; compress?: boolean } = {}): Promise<SaveResult> {
    return (await this.saveBlobs(kind, [plain], o))[0];
  }

  /** Whether each blob id is held (in the index, or stored in this run). */
  async has(ids: readonly Uint8Array[]): Promise<boolean[]> {
    const hexes = ids.map(hex);
    const before = hexes.map((h) => this.pending.has(h));
    const locs = await this.index.heldMany(hexes);
    // Pending before the read and gone after it: its location may have reached the index after the read.
    const moved = hexes.flatMap((h, i) => (before[i] && locs[i] === undefined && !this.pending.has(h) ? [i] : []));
    if (moved.length) (await this.index.heldMany(moved.map((i) => hexes[i]))).forEach((l, j) => (locs[moved[j]] = l));
    return hexes.map((h, i) => locs[i] !== undefined || this.pending.has(h));
  }

  /** Store every queued pack and record the new blobs in the local index (not yet published to the swarm). */
  async flush(): Promise<void> {
    const errors: unknown[] = [];
    // Both packers at once: the trees' pack goes out beside the last data packs, not after them.
    await Promise.all([...this.packers.values()].map((p) => p.flush().catch((e) => errors.push(e))));
    await this.indexRun();
    faultPoint('repo:flushed');
    if (errors.length) throw errors[0];
  }

  /**
   * End a run that will not name its blobs (an aborted backup): the blobs not yet in an upload are dropped (their
   * `stored` rejects with `reason`, and a later run stores them again); the uploads in flight are waited for, and
   * what they stored goes to the local index as a flush would put it (unpublished: a later backup reuses it, a
   * prune reclaims it). Never throws. Every writer of this repository shares its packs: for one run at a time.
   */
  async abandon(reason: unknown): Promise<void> {
    await Promise.all([...this.packers.values()].map((p) => p.abandon(reason)));
    await this.indexRun().catch(() => {});
  }

  /**
   * Write the stored blobs' locations gathered so far to the local index (unpublished, as a flush would), then let
   * their ids leave `pending`. A failed write puts them back for indexRun, which reports the error.
   */
  private indexStored(): void {
    const batch = this.own;
    this.own = [];
    this.indexing = this.indexing.then(async () => {
      try {
        await this.index.addOwn(batch);
      } catch {
        this.own.push(...batch);
        return;
      }
      for (const e of batch) this.pending.delete(hex(e.id));
    });
  }

  /** A run's packers are done: what its uploads stored goes to the local index (unpublished), its pending ids go. */
  private async indexRun(): Promise<void> {
    this.packs.release?.();
    await Promise.allSettled([...this.pending.values()].map((p) => p.stored));
    await this.indexing;
    const own = this.own;
    this.own = [];
    this.pending.clear();
    if (own.length) await this.index.addOwn(own);
  }

  // ---- the repository record ----

  async readRecord(signal?: AbortSignal): Promise<{ seq: number | null; record: RepoRecord }> {
    const r = await this.record.read({ signal });
    const read = r ? { seq: r.seq, record: decodeRecord(r.payload) } : { seq: null, record: emptyRecord() };
    this.known = { seq: read.seq, record: structuredClone(read.record) };
    return read;
  }

  /**
   * Read, change and compare-and-swap the record, again while another writer moved it in between. The first try
   * changes the record as this device last knew it, unread: a write over a moved record is refused by the swap,
   * and a guess that the change turns down or throws on is read again before that answer counts.
   */
  async updateRecord(change: (r: RepoRecord) => RepoRecord | null, signal?: AbortSignal): Promise<RepoRecord> {
    let guess = this.known;
    for (let attempt = 0; ;) {
      const { seq, record } = guess ?? (await this.readRecord(signal));
      const unread = guess !== null;
      guess = null;
      let next: RepoRecord | null;
      try {
        next = change(structuredClone(record));
      } catch (err) {
        if (unread) continue;
        throw err;
      }
      if (!next) {
        if (unread) continue;
        return record;
      }
      try {
        await this.record.write(encodeRecord(next), seq, { signal });
        this.known = { seq: (seq ?? 0) + 1, record: structuredClone(next) };
        return next;
      } catch (err) {
        this.known = null;
        if (!(err instanceof RecordConflictError)) throw err;
        if (unread) continue;
        if (++attempt > RECORD_RETRIES) throw new RepoConflictError(`the repository record kept moving (${attempt} attempts)`);
      }
    }
  }

  /**
   * Make this device's new blobs findable by others: write them as index parts and list those in the record.
   * `folder`: a root cap registered in the same record write (addFolder). `alongside`: started once the packs
   * are flushed and awaited before the record is written (and the lock released): a folder head that names the
   * new blobs is written while the index parts are stored, and a prune can never see the blobs without it.
   */
  async publish(o: { signal?: AbortSignal; unlock?: boolean; folder?: string; alongside?: () => Promise<unknown> } = {}): Promise<number> {
    await this.flush();
    const alongside = o.alongside?.();
    alongside?.catch(() => {}); // awaited below, after the parts: not an unhandled rejection meanwhile
    const parts: IndexPartRef[] = [];
    // One part's entries at a time; only their ids are kept (BLOB_ID_BYTES each) until the record names the parts.
    const published: Uint8Array[] = [];
    let count = 0;
    try {
      for await (const page of this.index.unpublishedPages(INDEX_PART_ENTRIES)) {
        parts.push(await storeIndexPart(this.packs, page, o.signal));
        const ids = new Uint8Array(page.length * BLOB_ID_BYTES);
        page.forEach((e, i) => ids.set(e.id, i * BLOB_ID_BYTES));
        published.push(ids);
        count += page.length;
      }
    } finally {
      // Settled before anything else happens, whatever the parts did; if it failed, its error is reported (over a
      // part's) and no record is written: the blobs stay unpublished for the next publish, and the lock held.
      await alongside;
    }
    const folder = o.folder;
    if (!parts.length && !(o.unlock && this.lockKind) && folder === undefined) return 0;
    const holder = await this.holder();
    const rec = await this.updateRecord((r) => {
      const registers = folder !== undefined && !r.folders.includes(folder);
      const unlocks = o.unlock && r.locks.some((l) => l.holder === holder);
      if (!parts.length && !registers && !unlocks) return null;
      r.index.push(...parts);
      if (registers) r.folders.push(folder);
      if (unlocks) r.locks = r.locks.filter((l) => l.holder !== holder);
      return r;
    }, o.signal);
    faultPoint('repo:published');
    if (o.unlock) this.stopLock();
    for (const ids of published)
      await this.index.markPublished(
        Array.from({ length: ids.length / BLOB_ID_BYTES }, (_, i) => hex(ids.subarray(i * BLOB_ID_BYTES, (i + 1) * BLOB_ID_BYTES)))
      );
    for (const p of parts) await this.index.addPart(hex(p.id), []);
    if (rec.index.length > RECORD_MAX_INDEX_PARTS) await this.consolidate(o.signal);
    return count;
  }

  /** Merge every listed part into as few as possible (the record stays small). */
  private async consolidate(signal?: AbortSignal): Promise<void> {
    const { record } = await this.readRecord(signal);
    const all = new Map<string, IndexEntry>();
    for (const p of record.index) for (const e of await this.loadIndexPart(p, signal)) all.set(hex(e.id), e);
    const list = [...all.values()];
    const parts: IndexPartRef[] = [];
    for (let i = 0; i < list.length; i += INDEX_PART_ENTRIES) parts.push(await storeIndexPart(this.packs, list.slice(i, i + INDEX_PART_ENTRIES), signal));
    const replaced = new Set(record.index.map((p) => hex(p.id)));
    await this.updateRecord((r) => {
      if (r.generation !== record.generation) return null; // a prune replaced the index meanwhile: leave it
      r.index = [...parts, ...r.index.filter((p) => !replaced.has(hex(p.id)))];
      return r;
    }, signal);
    for (const p of parts) await this.index.addPart(hex(p.id), []);
  }

  async loadIndexPart(p: IndexPartRef, signal?: AbortSignal): Promise<IndexEntry[]> {
    return this.cache.use(p.pack, signal, (pack) => decodeIndexPart(openBlob('index', pack.subarray(p.offset, p.offset + p.length), p.key)));
  }

  /**
   * Bring the local index up to the swarm's: every listed part not merged yet is read and merged; a newer
   * generation (a prune replaced the index) starts over. Cheap when nothing changed (one record read, none
   * when `known` is the record as this device just wrote it: a lock's).
   */
  async sync(signal?: AbortSignal, known?: RepoRecord): Promise<void> {
    if (this.syncing) return this.syncing;
    this.syncing = (async () => {
      const record = known ?? (await this.readRecord(signal)).record;
      if (record.generation !== (await this.index.generation())) {
        await this.index.reset(record.generation);
        this.ahead.clear(); // a prune replaced the index: what was looked up before may name packs it dropped
      }
      for (const p of record.index) {
        const id = hex(p.id);
        if (await this.index.hasPart(id)) continue;
        await this.index.addPart(id, await this.loadIndexPart(p, signal));
      }
      this.lastSync = Date.now();
    })().finally(() => {
      this.syncing = null;
    });
    return this.syncing;
  }

  /**
   * This repository and the index generation this device merged (a first sync before), as one opaque string: a
   * blob the index held under a mark is held while the mark stays the same (only a prune that frees blobs moves
   * the generation, and only packs newly distrusted move the distrust count). What a backup cache's records are vouched for
   * against (backup/cache.ts setMark).
   */
  async holdMark(signal?: AbortSignal): Promise<string> {
    if (this.lastSync === 0) await this.sync(signal);
    const repo = hex(taggedHash('p2pbackup/repo-mark', new TextEncoder().encode(formatCap(this.readCap)))).slice(0, 32);
    // Packs newly distrusted (found lost: BlobIndex.distrust) change it too: a cached file may name a blob they held.
    const distrusted = await this.index.distrustCount();
    return `${repo}:${await this.index.generation()}${distrusted ? `:${distrusted}` : ''}`;
  }

  /** Where blob `id` lives; merges the swarm's index once if this device does not know it yet. */
  async locate(id: Uint8Array, signal?: AbortSignal): Promise<BlobLocation> {
    const idHex = hex(id);
    const pend = this.pending.get(idHex);
    if (pend) return pend.stored;
    const early = this.ahead.get(idHex);
    if (early) {
      this.ahead.delete(idHex);
      return early;
    }
    let [loc] = await this.index.getMany([idHex]);
    if (!loc) {
      await this.sync(signal);
      [loc] = await this.index.getMany([idHex]);
    }
    if (!loc) throw new BlobNotFoundError(idHex);
    return loc;
  }

  /**
   * Where each of many blobs lives (as locate, in order; ids in hex, as a snapshot walk collects them), asking the
   * index LOCATE_BATCH ids at a time: walking a snapshot names one blob per file, and one index read each cost a
   * thread-pool round trip per file.
   */
  async locateMany(idsHex: readonly string[], signal?: AbortSignal): Promise<BlobLocation[]> {
    const out: BlobLocation[] = [];
    for await (const locs of this.#locateBatches(idsHex, signal)) out.push(...locs);
    return out;
  }

  /**
   * The pack of each of many blobs (its packKey, in order), as locateMany, each pack also put in `packs`; a batch's
   * locations are dropped once read. A level of /usr/share's tree names 28,000 blobs (man1 alone 18,000): their
   * locations, held at once, were 14 MiB of the daemon's heap at a restore's peak (the health loop's walk).
   */
  async locatePacks(idsHex: readonly string[], packs: Map<string, PackCap>, signal?: AbortSignal): Promise<string[]> {
    const keys: string[] = [];
    for await (const locs of this.#locateBatches(idsHex, signal)) {
      for (const loc of locs) {
        const key = packKey(loc.pack);
        if (!packs.has(key)) packs.set(key, loc.pack);
        keys.push(key);
      }
    }
    return keys;
  }

  async *#locateBatches(idsHex: readonly string[], signal?: AbortSignal): AsyncGenerator<BlobLocation[]> {
    for (let i = 0; i < idsHex.length; i += LOCATE_BATCH) {
      signal?.throwIfAborted();
      const hexes = idsHex.slice(i, i + LOCATE_BATCH);
      const locs = await this.index.getMany(hexes);
      // Ids this device does not know yet: one merge of the swarm's index, then one more read for all of them.
      const missing = hexes.flatMap((h, j) => (locs[j] || this.pending.has(h) ? [] : [j]));
      if (missing.length) {
        await this.sync(signal);
        const again = await this.index.getMany(missing.map((j) => hexes[j]));
        for (const [m, j] of missing.entries()) locs[j] = again[m];
      }
      const out: BlobLocation[] = [];
      for (const [j, h] of hexes.entries()) {
        const pend = this.pending.get(h);
        const loc = pend ? await pend.stored : locs[j];
        if (!loc) throw new BlobNotFoundError(h);
        out.push(loc);
      }
      yield out;
    }
  }

  /**
   * Look up where the blobs `ids` live, LOCATE_BATCH at a time, for reads about to come: each one's next locate
   * (loadBlob) takes its location from here instead of reading the index alone. A restore names a directory's
   * files at once; one index read per file (classic-level's getMany, a thread-pool round trip each) was the main
   * thread's largest cost in a CPU profile of a /usr/share restore. Ids the index does not know are left to locate (which syncs once and names the
   * error for that file alone); kept locations are bounded (LOCATE_AHEAD_MAX, oldest out) and dropped when a
   * sync finds the index replaced.
   */
  async locateAhead(ids: readonly Uint8Array[], signal?: AbortSignal): Promise<void> {
    const want = [...new Set(ids.map(hex))].filter((h) => !this.ahead.has(h) && !this.pending.has(h));
    for (let i = 0; i < want.length; i += LOCATE_BATCH) {
      signal?.throwIfAborted();
      const hexes = want.slice(i, i + LOCATE_BATCH);
      const locs = await this.index.getMany(hexes);
      for (const [j, h] of hexes.entries()) {
        const loc = locs[j];
        if (!loc) continue;
        if (this.ahead.size >= LOCATE_AHEAD_MAX) this.ahead.delete(this.ahead.keys().next().value!);
        this.ahead.set(h, loc);
      }
    }
  }

  /** The plaintext of a blob, verified (its pack's blocks against the pack cap, then its own AEAD and kind). */
  /**
   * `pooled`: the plaintext's buffer comes from a pool; give it back with releaseBlob (else the GC takes it).
   * `whole: false` reads only the blob's range of its pack, and not through the pack cache: right for one file
   * fetched alone (`get`), where a whole pack would cost many times the file on the wire. By default the whole
   * pack is read once and kept a while (restore, ls, diff read many blobs of the same packs).
   */
  async loadBlob(
    kind: BlobKind,
    ref: BlobRef,
    o: { signal?: AbortSignal; maxPlain?: number; whole?: boolean; pooled?: boolean; plan?: ReadPlan } = {}
  ): Promise<Uint8Array> {
    const loc = await this.locateKind(kind, ref.id, o.signal);
    const open = { maxPlain: o.maxPlain, pool: o.pooled ? (loc.length < SMALL_PLAIN_MAX ? smallPlainPool : plainPool) : undefined };
    if (o.whole === false) return this.readRange(loc.pack, loc.offset, loc.length, o.signal, (sealed) => openBlob(kind, sealed, ref.key, open));
    try {
      return await this.cache.use(loc.pack, o.signal, (pack) => openBlob(kind, pack.subarray(loc.offset, loc.offset + loc.length), ref.key, open), o.plan);
    } finally {
      o.plan?.took(loc.pack);
    }
  }

  /**
   * Announce that `refs` (a file's chunks) are about to be read, each with loadBlob(…, { plan }): a pack read only
   * for them is let go as soon as the last of them was read (src/repo/pack-cache.ts). Close the plan when done.
   */
  async planReads(kind: BlobKind, refs: readonly BlobRef[], signal?: AbortSignal): Promise<ReadPlan> {
    // All located before any is announced (in batches: one index read per LOCATE_BATCH chunks, not one each), so a
    // chunk the index does not know, or knows as another kind, fails the file with nothing announced.
    const locs = await this.locateMany(
      refs.map((r) => hex(r.id)),
      signal
    );
    const plan = this.cache.plan();
    for (const loc of locs) plan.expect(checkKind(kind, loc).pack);
    return plan;
  }

  /**
   * Give back the plaintext of a `loadBlob(…, { pooled: true })` once done with it (no view of it kept): its
   * buffer is handed out again. Bytes that did not come from there are ignored.
   */
  releaseBlob(bytes: Uint8Array): void {
    plainPool.give(bytes);
    smallPlainPool.give(bytes); // each pool takes back only its own buffers
  }

  /**
   * Several blobs of `kind` read by range, as `loadBlob` with `whole: false`, in the order asked. Blobs that lie
   * one after the other in a pack (a file's chunks, packed in order) are read as one range: a pack segment two
   * neighbours share is fetched once, not once per blob (a file's get read about twice its size before), and
   * its holders are located once per run. Runs are read side by side: the caller bounds the batch.
   */
  async loadBlobsByRange(kind: BlobKind, refs: readonly (BlobRef & { maxPlain?: number })[], o: { signal?: AbortSignal } = {}): Promise<Uint8Array[]> {
    const locs = await Promise.all(refs.map((r) => this.locateKind(kind, r.id, o.signal)));
    const runs: number[][] = [];
    locs.forEach((loc, i) => {
      const run = runs.at(-1);
      const prev = run ? locs[run.at(-1)!] : null;
      if (run && prev && loc.offset === prev.offset + prev.length && packKey(loc.pack) === packKey(prev.pack)) run.push(i);
      else runs.push([i]);
    });
    const out: Uint8Array[] = new Array(refs.length);
    await Promise.all(
      runs.map(async (run) => {
        const first = locs[run[0]];
        const end = locs[run.at(-1)!].offset + locs[run.at(-1)!].length;
        await this.readRange(first.pack, first.offset, end - first.offset, o.signal, (sealed) => {
          for (const i of run) {
            const at = locs[i].offset - first.offset;
            out[i] = openBlob(kind, sealed.subarray(at, at + locs[i].length), refs[i].key, { maxPlain: refs[i].maxPlain });
          }
        });
      })
    );
    return out;
  }

  /** `fn` of a verified range of `pack`, read into a pooled buffer that goes back once `fn` returns (it keeps no view of it). */
  private async readRange<T>(pack: PackCap, offset: number, length: number, signal: AbortSignal | undefined, fn: (bytes: Uint8Array) => T): Promise<T> {
    const into = packPool.take(length);
    const bytes = await this.packs.readPack(pack, { range: { offset, length }, signal, into }); // failed: `into` is left to the GC
    try {
      return fn(bytes);
    } finally {
      packPool.give(into);
    }
  }

  /** Where blob `id` lives, checked to be a `kind` blob inside its pack. */
  private async locateKind(kind: BlobKind, id: Uint8Array, signal?: AbortSignal): Promise<BlobLocation> {
    return checkKind(kind, await this.locate(id, signal));
  }

  /** Every pack the index names (data and metadata) and the packs of the listed index parts. */
  async livePacks(signal?: AbortSignal): Promise<PackCap[]> {
    const out = new Map<string, PackCap>();
    for await (const e of this.index.entries()) {
      signal?.throwIfAborted();
      out.set(formatCap(e.pack), e.pack);
    }
    for (const p of (await this.readRecord(signal)).record.index) out.set(formatCap(p.pack), p.pack);
    return [...out.values()];
  }

  // ---- locks (restic-like: backups share, prune excludes) ----

  /** This device's lock holder name (stable across restarts, so a crashed run's lock is taken over by the next). */
  private async holder(): Promise<string> {
    return (this.holderName ??= `${hostname()}/${await this.index.deviceId()}`);
  }

  /**
   * Take a lock of `kind`; throws RepoLockedError while a conflicting fresh lock is held by another holder.
   * Returns the record as written: current, so a sync right after needs no read of its own.
   */
  async lock(kind: RepoLock['kind'], signal?: AbortSignal): Promise<RepoRecord> {
    const holder = await this.holder();
    const record = await this.updateRecord((r) => {
      const now = Date.now();
      r.locks = r.locks.filter((l) => l.until > now && l.holder !== holder);
      const blocking = r.locks.find((l) => kind === 'prune' || l.kind === 'prune');
      if (blocking) throw new RepoLockedError(blocking.kind, blocking.holder, blocking.until);
      r.locks.push({ kind, holder, until: now + LOCK_STALE_MS });
      return r;
    }, signal);
    this.lockKind = kind;
    this.lockTimer ??= setInterval(() => {
      void this.refreshLock().catch(() => {});
    }, LOCK_REFRESH_MS);
    this.lockTimer.unref();
    return record;
  }

  private async refreshLock(): Promise<void> {
    const holder = await this.holder(),
      kind = this.lockKind;
    if (!kind) return;
    await this.updateRecord((r) => {
      const l = r.locks.find((x) => x.holder === holder);
      if (!l) return null;
      l.until = Date.now() + LOCK_STALE_MS;
      return r;
    });
  }

  private stopLock(): void {
    this.lockKind = null;
    if (this.lockTimer) clearInterval(this.lockTimer);
    this.lockTimer = null;
  }

  async unlock(signal?: AbortSignal): Promise<void> {
    if (!this.lockKind) return;
    const holder = await this.holder();
    this.stopLock();
    await this.updateRecord((r) => (r.locks.some((l) => l.holder === holder) ? ((r.locks = r.locks.filter((l) => l.holder !== holder)), r) : null), signal);
  }

  lockHolder(): Promise<string> {
    return this.holder();
  }

  /** Forget the packs kept and the locations looked up ahead (prune: the index they came from was replaced). */
  clearCache(): void {
    this.cache.clear();
    this.ahead.clear();
  }

  async close(): Promise<void> {
    this.stopLock();
    this.cache.clear();
    await this.index.close();
  }
}

/** The read cap of the owner's repository slot (what blob caps and folder heads carry). */
export function repoReadCap(secret: Uint8Array): MutableReadCap {
  return toReadCap(repoWriteCap(secret));
}
