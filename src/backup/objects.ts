// The byte layout of tree (directory), snapshot and folder-head objects (docs/FORMAT.md §Trees and snapshots):
// canonical JSON in UTF-8, fixed key order, entries sorted by the UTF-8 bytes of their names, so equal trees
// give equal bytes and therefore (per-owner convergent ids) one stored blob. The only place that knows these
// layouts. Every reader bounds what it accepts: an object is a blob (at most MAX_BLOB_BYTES), a directory's
// parts are chained at most MAX_TREE_PARTS deep, and every entry is checked before use.
import type { BlobKind, MutableReadCap } from '../caps/index.ts';
import { MAX_TREE_PARTS, MODE_MASK, OBJECT_KINDS, OBJECT_VERSION, TREE_PART_BYTES } from './constants.ts';
import { InvalidObjectError } from './errors.ts';
import { capOf, checkRef, contentOf, decodeCheckedRef, decodeLit, decodeRef, encodeLit, encodeRef, sameRepo, type Content, type Ref } from './refs.ts';
import type { BlobSink, BlobSource, DirEntry, FolderHead, Snapshot } from './types.ts';
import { formatCap, parseCap } from '../caps/index.ts';
import { compareUtf8 } from '../common/utf8.ts';

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });
const FILE_KINDS: readonly BlobKind[] = ['data', 'list'];
const TREE_KINDS: readonly BlobKind[] = ['tree'];
const SNAPSHOT_KINDS: readonly BlobKind[] = ['snapshot'];

/** Entry names in the format's order: by their UTF-8 bytes. */
export const compareNames = compareUtf8;

/** A UTF-16 surrogate not part of a pair (in a `u` regex a pair is one code point): a name UTF-8 cannot encode. */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * A name the format takes: one POSIX path component (never empty, `.` or `..`, no `/` or NUL), well-formed
 * Unicode. `\` and `:` are ordinary characters of POSIX names (man pages are called `Algorithm::Diff.3pm.gz`),
 * so they are stored; a restore on a system where they are path syntax refuses them (isRestorableName).
 */
export function isSafeName(name: unknown): name is string {
  return (
    typeof name === 'string' && name.length > 0 && name.length <= 4096 && name !== '.' && name !== '..' && !/[/\0]/.test(name) && !LONE_SURROGATE.test(name)
  );
}

/**
 * Whether a stored name can be joined under a directory on `platform` and stay one component there: on Windows
 * `\` separates paths and `:` names a drive or an alternate stream, so such entries are refused (each an item
 * error of restore), never joined.
 */
export function isRestorableName(name: string, platform: NodeJS.Platform = process.platform): boolean {
  return platform !== 'win32' || !/[\\:]/.test(name);
}

/**
 * A directory entry as backup writes it: like DirEntry, but content named by its compact form (no repository:
 * a tree names blobs of its own repository), which is what the tree stores and the backup cache keeps.
 */
export interface TreeEntry {
  name: string;
  type: DirEntry['type'];
  mode: number;
  mtimeNs: string;
  size?: number;
  target?: string;
  /** file: a data or list blob; dir: a tree blob (refs.ts encodeRef). */
  ref?: string;
  /** file of at most LITERAL_MAX_BYTES: its bytes, base64url. */
  lit?: string;
}

/** The compact content of a DirEntry (whose cap names a blob of `repo`, or is inline). */
export function toTreeEntry(e: DirEntry, repo: MutableReadCap): TreeEntry {
  const t: TreeEntry = { name: e.name, type: e.type, mode: e.mode, mtimeNs: e.mtimeNs };
  if (e.type === 'file') t.size = e.size;
  if (e.type === 'symlink') {
    t.target = e.target;
    return t;
  }
  const c = entryContent(e, e.type === 'dir' ? TREE_KINDS : FILE_KINDS);
  if (c.kind === 'lit') {
    if (e.type !== 'file') throw new InvalidObjectError('a directory is never inline');
    t.lit = encodeLit(c.data);
  } else {
    if (!sameRepo(c.repo, repo)) throw new InvalidObjectError(`entry ${JSON.stringify(e.name)} names a blob of another repository`);
    t.ref = encodeRef(c);
  }
  return t;
}

function checkEntry(e: DirEntry | TreeEntry): void {
  const bad = (why: string) => {
    throw new InvalidObjectError(`bad directory entry ${JSON.stringify(e?.name)}: ${why}`);
  };
  if (!e || typeof e !== 'object') bad('not an object');
  if (!isSafeName(e.name)) bad('name must be one path component without / or NUL');
  if (e.type !== 'file' && e.type !== 'dir' && e.type !== 'symlink') bad('unknown type');
  if (!Number.isInteger(e.mode) || e.mode < 0 || e.mode > MODE_MASK) bad('mode');
  if (typeof e.mtimeNs !== 'string' || !/^-?\d{1,30}$/.test(e.mtimeNs)) bad('mtimeNs');
  if (e.type === 'file' && (!Number.isSafeInteger(e.size) || e.size! < 0)) bad('size');
  if (e.type === 'symlink' && (typeof e.target !== 'string' || e.target.length === 0 || e.target.length > 65_536 || e.target.includes('\0'))) bad('target');
}

function canonicalEntry(e: TreeEntry): string {
  checkEntry(e);
  const o: Record<string, unknown> = { name: e.name, type: e.type, mode: e.mode, mtimeNs: e.mtimeNs };
  if (e.type === 'file') o.size = e.size;
  if (e.type === 'symlink') o.target = e.target;
  else if (e.type === 'file' && e.lit !== undefined) {
    if (decodeLit(e.lit).length !== e.size) throw new InvalidObjectError(`inline content of ${JSON.stringify(e.name)} is not its size`);
    o.lit = e.lit;
  } else {
    checkRef(e.ref, e.type === 'dir' ? TREE_KINDS : FILE_KINDS);
    o.ref = e.ref;
  }
  return JSON.stringify(o);
}

function sortedEntries<T extends { name: string }>(entries: T[]): T[] {
  const sorted = [...entries].sort((a, b) => compareNames(a.name, b.name));
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i - 1].name === sorted[i].name) throw new InvalidObjectError(`duplicate name in directory: ${sorted[i].name}`);
  }
  return sorted;
}

const treeJson = (parts: string[], next?: Ref) =>
  `{"p2pb":"${OBJECT_KINDS.tree}","v":${OBJECT_VERSION},"entries":[${parts.join(',')}]${next ? `,"next":${JSON.stringify(encodeRef(next))}` : ''}}`;

/** One tree part's bytes (a directory small enough for one part has exactly these bytes as its tree blob). */
export function encodeTree(entries: TreeEntry[], next?: Ref): Uint8Array {
  return enc.encode(treeJson(sortedEntries(entries).map(canonicalEntry), next));
}

/**
 * Store a directory's entries as tree blob(s) in `sink`; its compact tree reference. A directory over about
 * TREE_PART_BYTES of JSON is cut into parts, part i naming part i+1 with `next`, stored last to first.
 */
export async function storeTree(sink: BlobSink, entries: TreeEntry[], signal?: AbortSignal): Promise<StoredTree> {
  return (await storeTrees(sink, [entries], signal))[0];
}

export interface StoredTree {
  ref: string;
  stored: Promise<void>;
  isNew: boolean;
}

/**
 * Store many directories (as storeTree each, in order). Those of one part go to the sink in one call, so a
 * backup's thousands of directories cost a few index reads, not one each.
 */
export async function storeTrees(sink: BlobSink, dirs: TreeEntry[][], signal?: AbortSignal): Promise<StoredTree[]> {
  const out: StoredTree[] = new Array(dirs.length);
  let single: { at: number; bytes: Uint8Array }[] = [];
  let singleBytes = 0;
  const saveSingle = async () => {
    const batch = single;
    single = [];
    singleBytes = 0;
    const rs = await sink.saveBlobs(
      'tree',
      batch.map((s) => s.bytes),
      { signal }
    );
    for (const [i, { at }] of batch.entries()) out[at] = { ref: encodeRef({ kind: 'tree', ...rs[i].ref }), stored: rs[i].stored, isNew: rs[i].isNew };
  };
  for (const [at, entries] of dirs.entries()) {
    const canon = sortedEntries(entries).map(canonicalEntry);
    const cuts: number[] = [0];
    for (let i = 0, bytes = 0; i < canon.length; i++) {
      bytes += canon[i].length + 1;
      if (bytes > TREE_PART_BYTES && i + 1 < canon.length) {
        cuts.push(i + 1);
        bytes = 0;
      }
    }
    if (cuts.length > MAX_TREE_PARTS) throw new InvalidObjectError(`directory too large (${canon.length} entries)`);
    if (cuts.length === 1) {
      const bytes = enc.encode(treeJson(canon));
      single.push({ at, bytes });
      singleBytes += bytes.length;
      if (singleBytes >= TREE_PART_BYTES) await saveSingle(); // at most one part's worth of JSON waits
      continue;
    }
    let next: Ref | undefined;
    let isNew = false;
    const waits: Promise<void>[] = [];
    for (let p = cuts.length - 1; p >= 0; p--) {
      const [r] = await sink.saveBlobs('tree', [enc.encode(treeJson(canon.slice(cuts[p], cuts[p + 1] ?? canon.length), next))], { signal });
      next = { kind: 'tree', ...r.ref };
      waits.push(r.stored);
      isNew = r.isNew;
    }
    out[at] = { ref: encodeRef(next!), stored: Promise.all(waits).then(() => {}), isNew };
  }
  if (single.length) await saveSingle();
  return out;
}

/** The content a DirEntry names: from its reference when the entry came from a tree (decodeTree), else from its cap. */
export function entryContent(e: DirEntry, allowed: readonly BlobKind[]): Content {
  const c = e instanceof DecodedEntry ? e.content() : undefined;
  if (c && (c.kind === 'lit' || allowed.includes(c.kind))) return c;
  return contentOf(e.cap!, allowed);
}

/**
 * The blob a file's or directory's entry names (its content, its tree) and the repository it is in; null for
 * inline content, a symlink, or an entry whose cap does not name a blob of the right kind (reading it says so).
 */
export function entryBlob(e: DirEntry): { id: Uint8Array; repo: MutableReadCap } | null {
  if (e.type !== 'file' && e.type !== 'dir') return null;
  let c: Content;
  try {
    c = entryContent(e, e.type === 'dir' ? TREE_KINDS : FILE_KINDS);
  } catch {
    return null;
  }
  return c.kind === 'lit' ? null : { id: c.id, repo: c.repo };
}

/**
 * A decoded tree entry: its reference checked, and decoded again each time its content is asked for (entryContent);
 * its `cap` text built only when someone reads it (the API, ls --json). A class, so that entries share one shape and
 * one accessor: each entry's own accessor (and the dictionary-mode object it made) and decoded content cost 1,289
 * bytes of heap per entry, 23 MiB for /usr/share/man/man1's 18,000 files while a restore wrote them. JSON gets the
 * cap as an own property would give it (toJSON).
 */
class DecodedEntry implements DirEntry {
  name: string;
  type: DirEntry['type'];
  mode: number;
  mtimeNs: string;
  declare size?: number;
  declare target?: string;
  /** A checked reference (refs.ts) of a blob of #repo, or inline bytes; none once a cap was set. */
  #content: string | Uint8Array | undefined;
  #repo: MutableReadCap | undefined;
  #cap: string | undefined;
  constructor(name: string, type: DirEntry['type'], mode: number, mtimeNs: string) {
    this.name = name;
    this.type = type;
    this.mode = mode;
    this.mtimeNs = mtimeNs;
  }
  setContent(c: string | Uint8Array, repo: MutableReadCap): void {
    this.#content = c;
    this.#repo = repo;
  }
  content(): Content | undefined {
    const c = this.#content;
    if (c === undefined) return undefined;
    if (typeof c !== 'string') return { kind: 'lit', data: c };
    const r = decodeCheckedRef(c); // checked by decodeTree, for this entry's type
    return { kind: r.kind, id: r.id, key: r.key, repo: this.#repo! };
  }
  get cap(): string | undefined {
    if (this.#cap === undefined && this.#content !== undefined) {
      const c = this.content()!;
      this.#cap = c.kind === 'lit' ? formatCap({ type: 'lit', data: c.data }) : capOf(c.repo, c);
    }
    return this.#cap;
  }
  set cap(v: string | undefined) {
    this.#cap = v;
    this.#content = undefined; // the content is the new cap's (entryContent parses it)
  }
  toJSON(): DirEntry {
    const o: DirEntry = { name: this.name, type: this.type, mode: this.mode, mtimeNs: this.mtimeNs };
    if (this.size !== undefined) o.size = this.size;
    const cap = this.cap;
    if (cap !== undefined) o.cap = cap;
    if (this.target !== undefined) o.target = this.target;
    return o;
  }
}

function parseJson(bytes: Uint8Array, kind: string): Record<string, any> {
  let o: unknown;
  try {
    o = JSON.parse(dec.decode(bytes));
  } catch {
    throw new InvalidObjectError(`not a ${kind} object (not UTF-8 JSON)`);
  }
  if (!o || typeof o !== 'object' || Array.isArray(o)) throw new InvalidObjectError(`not a ${kind} object`);
  const r = o as Record<string, any>;
  if (r.p2pb !== kind) throw new InvalidObjectError(`expected a ${kind} object, found ${JSON.stringify(r.p2pb)}`, { expected: kind, found: r.p2pb });
  if (r.v !== OBJECT_VERSION)
    throw new InvalidObjectError(
      r.v === 1 ? `a ${kind} object of format version 1, which this version no longer reads` : `unknown ${kind} object version ${r.v}`,
      { version: r.v }
    );
  return r;
}

/** Entries of one tree part (their content in `repo`) and the reference of the next part, if any. */
export function decodeTree(bytes: Uint8Array, repo: MutableReadCap): { entries: DirEntry[]; next?: Ref } {
  const o = parseJson(bytes, OBJECT_KINDS.tree);
  if (!Array.isArray(o.entries)) throw new InvalidObjectError('tree object without entries');
  const entries: DirEntry[] = o.entries.map((x: any): DirEntry => {
    if (!x || typeof x !== 'object' || Array.isArray(x)) throw new InvalidObjectError('tree entry is not an object');
    const e = new DecodedEntry(x.name, x.type, x.mode, x.mtimeNs);
    if (x.type === 'file') e.size = x.size;
    if (x.type === 'symlink') e.target = x.target;
    checkEntry(e);
    if (x.type === 'file' && Object.hasOwn(x, 'lit')) {
      const data = decodeLit(x.lit);
      if (data.length !== x.size) throw new InvalidObjectError(`inline content of ${JSON.stringify(x.name)} is not its size`);
      e.setContent(data, repo);
    } else if (x.type === 'file' || x.type === 'dir') {
      checkRef(x.ref, x.type === 'dir' ? TREE_KINDS : FILE_KINDS);
      e.setContent(x.ref, repo);
    }
    return e;
  });
  for (let i = 1; i < entries.length; i++) {
    if (compareNames(entries[i - 1].name, entries[i].name) >= 0) throw new InvalidObjectError('directory entries not sorted or duplicated');
  }
  return { entries, ...(Object.hasOwn(o, 'next') ? { next: decodeRef(o.next, TREE_KINDS) } : {}) };
}

export function encodeSnapshot(s: Snapshot, repo: MutableReadCap): Uint8Array {
  const root = contentOf(s.root, TREE_KINDS);
  if (root.kind === 'lit' || !sameRepo(root.repo, repo)) throw new InvalidObjectError('a snapshot names a tree of its own repository');
  const o: Record<string, unknown> = { p2pb: OBJECT_KINDS.snapshot, v: OBJECT_VERSION, tree: encodeRef(root), time: s.time, host: s.host, paths: s.paths };
  if (s.label !== undefined) o.label = s.label;
  if (s.parent !== undefined) {
    const p = contentOf(s.parent, SNAPSHOT_KINDS);
    if (p.kind !== 'lit' && sameRepo(p.repo, repo)) o.parent = encodeRef(p);
  }
  o.stats = {
    files: s.stats.files,
    dirs: s.stats.dirs,
    symlinks: s.stats.symlinks,
    bytes: s.stats.bytes,
    ...(s.stats.added !== undefined ? { added: s.stats.added } : {})
  };
  return enc.encode(JSON.stringify(o));
}

const count = (x: unknown) => Number.isSafeInteger(x) && (x as number) >= 0;

export function decodeSnapshot(bytes: Uint8Array, repo: MutableReadCap): Snapshot {
  const o = parseJson(bytes, OBJECT_KINDS.snapshot);
  const st = o.stats;
  if (
    !Number.isSafeInteger(o.time) ||
    typeof o.host !== 'string' ||
    o.host.length > 1024 ||
    !Array.isArray(o.paths) ||
    !o.paths.every((p: unknown) => typeof p === 'string') ||
    !st ||
    typeof st !== 'object' ||
    ![st.files, st.dirs, st.symlinks, st.bytes].every(count)
  ) {
    throw new InvalidObjectError('malformed snapshot object');
  }
  if (Object.hasOwn(st, 'added') && !count(st.added)) throw new InvalidObjectError('malformed snapshot object');
  const s: Snapshot = {
    root: capOf(repo, decodeRef(o.tree, TREE_KINDS)),
    time: o.time,
    host: o.host,
    paths: o.paths,
    stats: { files: st.files, dirs: st.dirs, symlinks: st.symlinks, bytes: st.bytes, ...(Object.hasOwn(st, 'added') ? { added: st.added } : {}) }
  };
  if (typeof o.label === 'string') s.label = o.label;
  if (Object.hasOwn(o, 'parent')) s.parent = capOf(repo, decodeRef(o.parent, SNAPSHOT_KINDS));
  return s;
}

/** A folder head: the repository its snapshots live in and the snapshots (each a snapshot blob cap of it). */
export function encodeHead(h: FolderHead): Uint8Array {
  // The repository: given, or the one the snapshots name (a head with no snapshot must be given it).
  const first = h.snapshots[0] ? contentOf(h.snapshots[0].cap, SNAPSHOT_KINDS) : null;
  const repoText = h.repo ?? (first && first.kind !== 'lit' ? formatCap(first.repo) : null);
  if (!repoText) throw new InvalidObjectError('a folder head names its repository');
  const repoCap = parseCap(repoText);
  if (repoCap.type !== 'mr') throw new InvalidObjectError('a folder head names its repository by its read cap');
  const snapshots = [...h.snapshots].sort((a, b) => a.time - b.time || (a.cap < b.cap ? -1 : a.cap > b.cap ? 1 : 0));
  return enc.encode(
    JSON.stringify({
      p2pb: OBJECT_KINDS.head,
      v: OBJECT_VERSION,
      repo: repoText,
      snapshots: snapshots.map((s) => {
        const c = contentOf(s.cap, SNAPSHOT_KINDS);
        if (c.kind === 'lit' || !sameRepo(c.repo, repoCap)) throw new InvalidObjectError('a folder head lists snapshots of its own repository');
        return { ref: encodeRef(c), time: s.time };
      })
    })
  );
}

export function decodeHead(bytes: Uint8Array): FolderHead {
  const o = parseJson(bytes, OBJECT_KINDS.head);
  let repo: MutableReadCap;
  try {
    const c = parseCap(o.repo);
    if (c.type !== 'mr') throw new Error();
    repo = c;
  } catch {
    throw new InvalidObjectError('folder head without a valid repository cap');
  }
  if (!Array.isArray(o.snapshots) || !o.snapshots.every((s: any) => s && typeof s === 'object' && Number.isSafeInteger(s.time))) {
    throw new InvalidObjectError('malformed folder head');
  }
  return { repo: o.repo, snapshots: o.snapshots.map((s: any) => ({ cap: capOf(repo, decodeRef(s.ref, SNAPSHOT_KINDS)), time: s.time })) };
}

/**
 * Read one blob a cap names (a blob cap of one of `kinds`), or a directory entry's tree, verified, through the
 * source of its repository.
 */
async function readBlobCap(
  src: BlobSource,
  cap: string | DirEntry,
  kinds: readonly BlobKind[],
  signal?: AbortSignal
): Promise<{ bytes: Uint8Array; repo: MutableReadCap; kind: BlobKind }> {
  const c = typeof cap === 'string' ? contentOf(cap, kinds) : entryContent(cap, kinds);
  if (c.kind === 'lit') throw new InvalidObjectError('an inline cap does not name an object');
  return { bytes: await src.reader(c.repo).loadBlob(c.kind, c, { signal }), repo: c.repo, kind: c.kind };
}

/**
 * A directory's entries (all its parts), read from the cap of its tree or from its entry in its parent (a walk: a
 * decoded entry's reference is read as it is, without making its cap text and parsing it again: 13 µs a directory here).
 */
export async function readDir(src: BlobSource, dir: string | DirEntry, signal?: AbortSignal): Promise<DirEntry[]> {
  const first = await readBlobCap(src, dir, TREE_KINDS, signal);
  let part = decodeTree(first.bytes, first.repo);
  const out = [...part.entries];
  for (let i = 1; part.next; i++) {
    if (i >= MAX_TREE_PARTS) throw new InvalidObjectError(`directory has more than ${MAX_TREE_PARTS} parts`);
    part = decodeTree(await src.reader(first.repo).loadBlob('tree', part.next, { signal }), first.repo);
    if (out.length && part.entries.length && compareNames(out[out.length - 1].name, part.entries[0].name) >= 0)
      throw new InvalidObjectError('directory parts not sorted');
    out.push(...part.entries);
  }
  return out;
}

export async function readSnapshot(src: BlobSource, cap: string, signal?: AbortSignal): Promise<Snapshot> {
  const r = await readBlobCap(src, cap, SNAPSHOT_KINDS, signal);
  return decodeSnapshot(r.bytes, r.repo);
}

/** The root tree of `cap`, which names either a snapshot or a tree. */
export async function resolveRoot(src: BlobSource, cap: string, signal?: AbortSignal): Promise<{ root: string; entries: DirEntry[]; snapshot?: Snapshot }> {
  const c = contentOf(cap, ['snapshot', 'tree']);
  if (c.kind === 'snapshot') {
    const snapshot = await readSnapshot(src, cap, signal);
    return { root: snapshot.root, entries: await readDir(src, snapshot.root, signal), snapshot };
  }
  return { root: cap, entries: await readDir(src, cap, signal) };
}

/** Store a snapshot object; its cap. */
export async function storeSnapshot(sink: BlobSink, s: Snapshot, signal?: AbortSignal): Promise<{ cap: string; stored: Promise<void>; isNew: boolean }> {
  const [r] = await sink.saveBlobs('snapshot', [encodeSnapshot(s, sink.readCap)], { signal });
  return { cap: capOf(sink.readCap, { kind: 'snapshot', ...r.ref }), stored: r.stored, isNew: r.isNew };
}
