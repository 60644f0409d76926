// The repository record: the payload of the owner's repository slot (a signed mutable record whose write cap
// derives from the owner's secret, so every device of the owner finds the same one). Canonical JSON:
//   {"p2pb":"repo","v":2,"generation":n,"index":[<part>,…],"folders":[<root cap>,…],"locks":[<lock>,…]}
//   part = {"pack":<pack cap>,"offset":n,"length":n,"id":<hex>,"key":<hex>}   (an index blob, located directly)
//   lock = {"kind":"backup"|"prune","holder":<string>,"until":<ms>}
//   garbage = [<pack cap>,…]: packs a prune dropped from the index and still has to tell their holders to delete
// `generation` grows when a prune replaces the index: a device whose local index merged an older generation
// rebuilds it from the listed parts. `folders` lists the root caps of every folder backed up into the repository
// (prune must see every snapshot that may name a blob). Writers compare-and-swap on the slot's seq.
import { formatCap, parseCap, type PackCap } from '../caps/index.ts';
import { REPO_VERSION } from './constants.ts';
import { InvalidRepoDataError } from './errors.ts';

export interface IndexPartRef {
  pack: PackCap;
  offset: number;
  length: number;
  id: Uint8Array;
  key: Uint8Array;
}
export interface RepoLock {
  kind: 'backup' | 'prune';
  holder: string;
  until: number;
}
export interface RepoRecord {
  generation: number;
  index: IndexPartRef[];
  folders: string[];
  locks: RepoLock[];
  garbage: PackCap[];
}

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: true });
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const HEX64 = /^[0-9a-f]{64}$/;

export const emptyRecord = (): RepoRecord => ({ generation: 0, index: [], folders: [], locks: [], garbage: [] });

export function encodeRecord(r: RepoRecord): Uint8Array {
  return enc.encode(
    JSON.stringify({
      p2pb: 'repo',
      v: REPO_VERSION,
      generation: r.generation,
      index: r.index.map((p) => ({ pack: formatCap(p.pack), offset: p.offset, length: p.length, id: hex(p.id), key: hex(p.key) })),
      folders: r.folders,
      locks: r.locks.map((l) => ({ kind: l.kind, holder: l.holder, until: l.until })),
      garbage: r.garbage.map((p) => formatCap(p))
    })
  );
}

export function decodeRecord(bytes: Uint8Array): RepoRecord {
  const bad = (reason: string) => new InvalidRepoDataError('repository record', reason);
  let o: any;
  try {
    o = JSON.parse(dec.decode(bytes));
  } catch {
    throw bad('not UTF-8 JSON');
  }
  if (!o || typeof o !== 'object' || o.p2pb !== 'repo') throw bad('not a repository record');
  if (o.v !== REPO_VERSION) throw bad(`unknown version ${o.v}`);
  if (!Number.isSafeInteger(o.generation) || o.generation < 0) throw bad('generation');
  if (!Array.isArray(o.index) || !Array.isArray(o.folders) || !Array.isArray(o.locks)) throw bad('missing lists');
  const index = o.index.map((p: any, i: number) => {
    if (
      !p ||
      typeof p.pack !== 'string' ||
      !Number.isSafeInteger(p.offset) ||
      !Number.isSafeInteger(p.length) ||
      p.offset < 0 ||
      p.length < 1 ||
      typeof p.id !== 'string' ||
      !HEX64.test(p.id) ||
      typeof p.key !== 'string' ||
      !HEX64.test(p.key)
    )
      throw bad(`index part ${i}`);
    let pack;
    try {
      pack = parseCap(p.pack);
    } catch {
      throw bad(`index part ${i}: bad pack cap`);
    }
    if (pack.type !== 'pack' || p.offset + p.length > pack.size) throw bad(`index part ${i}: bad pack range`);
    return { pack, offset: p.offset, length: p.length, id: Uint8Array.from(Buffer.from(p.id, 'hex')), key: Uint8Array.from(Buffer.from(p.key, 'hex')) };
  });
  const folders = o.folders.map((f: any, i: number) => {
    if (typeof f !== 'string') throw bad(`folder ${i}`);
    let c;
    try {
      c = parseCap(f);
    } catch {
      throw bad(`folder ${i}: bad cap`);
    }
    if (c.type !== 'mr') throw bad(`folder ${i}: not a root cap`);
    return f;
  });
  const locks = o.locks.map((l: any, i: number) => {
    if (!l || (l.kind !== 'backup' && l.kind !== 'prune') || typeof l.holder !== 'string' || l.holder.length > 200 || !Number.isSafeInteger(l.until))
      throw bad(`lock ${i}`);
    return { kind: l.kind, holder: l.holder, until: l.until };
  });
  if (!Array.isArray(o.garbage)) throw bad('missing garbage list');
  const garbage = o.garbage.map((g: any, i: number) => {
    let c;
    try {
      c = parseCap(g);
    } catch {
      throw bad(`garbage ${i}: bad cap`);
    }
    if (c.type !== 'pack') throw bad(`garbage ${i}: not a pack cap`);
    return c;
  });
  return { generation: o.generation, index, folders, locks, garbage };
}
