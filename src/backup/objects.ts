// The byte layout of directory, snapshot and folder-head objects (docs/FORMAT.md §Directories and snapshots):
// canonical JSON in UTF-8, fixed key order, entries sorted by the UTF-8 bytes of their names, so equal
// trees give equal bytes and therefore (convergent key) equal caps. The only place that knows these layouts.
import { bytesInput } from '../format/index.ts';
import { MAX_OBJECT_BYTES, MODE_MASK, OBJECT_KINDS, OBJECT_VERSION } from './constants.ts';
import { InvalidObjectError } from './errors.ts';
import { collect, openContent } from './packs.ts';
import type { DirEntry, FolderHead, ObjectStore, Snapshot } from './types.ts';

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });

export function compareNames(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** A name that is safe to join under a directory: one path component, never `.`/`..`, no `/` or NUL. */
export function isSafeName(name: unknown): name is string {
  return typeof name === 'string' && name.length > 0 && name !== '.' && name !== '..' && !name.includes('/') && !name.includes('\0') && Buffer.from(name, 'utf8').toString('utf8') === name;
}

function canonicalEntry(e: DirEntry): Record<string, unknown> {
  const o: Record<string, unknown> = { name: e.name, type: e.type, mode: e.mode, mtimeNs: e.mtimeNs };
  if (e.type === 'file') { o.size = e.size; o.cap = e.cap; }
  if (e.type === 'dir') o.cap = e.cap;
  if (e.type === 'symlink') o.target = e.target;
  return o;
}

export function encodeDir(entries: DirEntry[]): Uint8Array {
  const sorted = [...entries].sort((a, b) => compareNames(a.name, b.name));
  for (let i = 0; i < sorted.length; i++) {
    checkEntry(sorted[i]);
    if (i > 0 && sorted[i - 1].name === sorted[i].name) throw new InvalidObjectError(`duplicate name in directory: ${sorted[i].name}`);
  }
  return enc.encode(JSON.stringify({ p2pb: OBJECT_KINDS.dir, v: OBJECT_VERSION, entries: sorted.map(canonicalEntry) }));
}

function checkEntry(e: DirEntry): void {
  const bad = (why: string) => { throw new InvalidObjectError(`bad directory entry ${JSON.stringify(e?.name)}: ${why}`); };
  if (!e || typeof e !== 'object') bad('not an object');
  if (!isSafeName(e.name)) bad('name must be one path component');
  if (e.type !== 'file' && e.type !== 'dir' && e.type !== 'symlink') bad('unknown type');
  if (!Number.isInteger(e.mode) || e.mode < 0 || e.mode > MODE_MASK) bad('mode');
  if (typeof e.mtimeNs !== 'string' || !/^-?\d{1,30}$/.test(e.mtimeNs)) bad('mtimeNs');
  if (e.type === 'file' && (!Number.isSafeInteger(e.size) || e.size! < 0)) bad('size');
  if (e.type !== 'symlink' && (typeof e.cap !== 'string' || !e.cap.startsWith('p2pb:'))) bad('cap');
  if (e.type === 'symlink' && (typeof e.target !== 'string' || e.target.length === 0 || e.target.includes('\0'))) bad('target');
}

function parseJson(bytes: Uint8Array, kind: string): Record<string, any> {
  let o: unknown;
  try { o = JSON.parse(dec.decode(bytes)); } catch { throw new InvalidObjectError(`not a ${kind} object (not UTF-8 JSON)`); }
  if (!o || typeof o !== 'object' || Array.isArray(o)) throw new InvalidObjectError(`not a ${kind} object`);
  const r = o as Record<string, any>;
  if (r.p2pb !== kind) throw new InvalidObjectError(`expected a ${kind} object, found ${JSON.stringify(r.p2pb)}`, { expected: kind, found: r.p2pb });
  if (r.v !== OBJECT_VERSION) throw new InvalidObjectError(`unknown ${kind} object version ${r.v}`, { version: r.v });
  return r;
}

/** Kind of an object from its bytes ('dir' | 'snapshot' | 'head'), or throws. */
export function objectKind(bytes: Uint8Array): string {
  let o: any;
  try { o = JSON.parse(dec.decode(bytes)); } catch { throw new InvalidObjectError('not a p2pbackup object (not UTF-8 JSON)'); }
  if (!o || !Object.values(OBJECT_KINDS).includes(o.p2pb)) throw new InvalidObjectError('not a directory or snapshot object');
  return o.p2pb;
}

export function decodeDir(bytes: Uint8Array): DirEntry[] {
  const o = parseJson(bytes, OBJECT_KINDS.dir);
  if (!Array.isArray(o.entries)) throw new InvalidObjectError('directory object without entries');
  const entries = o.entries as DirEntry[];
  entries.forEach(checkEntry);
  for (let i = 1; i < entries.length; i++) {
    if (compareNames(entries[i - 1].name, entries[i].name) >= 0) throw new InvalidObjectError('directory entries not sorted or duplicated');
  }
  return entries;
}

export function encodeSnapshot(s: Snapshot): Uint8Array {
  const o: Record<string, unknown> = { p2pb: OBJECT_KINDS.snapshot, v: OBJECT_VERSION, root: s.root, time: s.time, host: s.host, paths: s.paths };
  if (s.label !== undefined) o.label = s.label;
  if (s.parent !== undefined) o.parent = s.parent;
  o.stats = { files: s.stats.files, dirs: s.stats.dirs, symlinks: s.stats.symlinks, bytes: s.stats.bytes };
  return enc.encode(JSON.stringify(o));
}

export function decodeSnapshot(bytes: Uint8Array): Snapshot {
  const o = parseJson(bytes, OBJECT_KINDS.snapshot);
  if (typeof o.root !== 'string' || !Number.isSafeInteger(o.time) || typeof o.host !== 'string' || !Array.isArray(o.paths) || typeof o.stats !== 'object') {
    throw new InvalidObjectError('malformed snapshot object');
  }
  const s: Snapshot = { root: o.root, time: o.time, host: o.host, paths: o.paths, stats: o.stats };
  if (typeof o.label === 'string') s.label = o.label;
  if (typeof o.parent === 'string') s.parent = o.parent;
  return s;
}

export function encodeHead(h: FolderHead): Uint8Array {
  const snapshots = [...h.snapshots].sort((a, b) => a.time - b.time || (a.cap < b.cap ? -1 : a.cap > b.cap ? 1 : 0));
  return enc.encode(JSON.stringify({ p2pb: OBJECT_KINDS.head, v: OBJECT_VERSION, snapshots: snapshots.map((s) => ({ cap: s.cap, time: s.time })) }));
}

export function decodeHead(bytes: Uint8Array): FolderHead {
  const o = parseJson(bytes, OBJECT_KINDS.head);
  if (!Array.isArray(o.snapshots) || !o.snapshots.every((s: any) => typeof s?.cap === 'string' && Number.isSafeInteger(s.time))) {
    throw new InvalidObjectError('malformed folder head');
  }
  return { snapshots: o.snapshots.map((s: any) => ({ cap: s.cap, time: s.time })) };
}

/** Store an object's bytes as an immutable file; returns its cap. */
export async function putObject(store: ObjectStore, bytes: Uint8Array, signal?: AbortSignal): Promise<string> {
  return (await store.putFile(bytesInput(bytes), { signal })).cap;
}

/** Read a whole (small) object back; refuses objects over MAX_OBJECT_BYTES. */
export async function readObject(store: ObjectStore, cap: string, signal?: AbortSignal): Promise<Uint8Array> {
  const content = await openContent(store, cap, signal);
  if (content.size > MAX_OBJECT_BYTES) throw new InvalidObjectError(`object of ${content.size} bytes is larger than ${MAX_OBJECT_BYTES}`, { size: content.size });
  return collect(content, 'object');
}

export async function readDir(store: ObjectStore, cap: string, signal?: AbortSignal): Promise<DirEntry[]> {
  return decodeDir(await readObject(store, cap, signal));
}

export async function readSnapshot(store: ObjectStore, cap: string, signal?: AbortSignal): Promise<Snapshot> {
  return decodeSnapshot(await readObject(store, cap, signal));
}

/** The root dir cap of `cap`, which names either a snapshot or a directory object. */
export async function resolveRoot(store: ObjectStore, cap: string, signal?: AbortSignal): Promise<{ root: string; entries: DirEntry[]; snapshot?: Snapshot }> {
  const bytes = await readObject(store, cap, signal);
  if (objectKind(bytes) === OBJECT_KINDS.snapshot) {
    const snapshot = decodeSnapshot(bytes);
    return { root: snapshot.root, entries: await readDir(store, snapshot.root, signal), snapshot };
  }
  return { root: cap, entries: decodeDir(bytes) };
}
