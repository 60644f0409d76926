// Every blob a set of snapshots needs: the snapshots, their trees (every part), chunk lists and chunks. Prune keeps
// exactly these (and frees the rest); shared subtrees are read once, which also keeps a crafted tree that names
// one subtree many times from costing more than its distinct blobs.
import { decodeChunkList } from '../repo/chunk-list.ts';
import { MAX_BLOB_BYTES } from '../repo/constants.ts';
import { InvalidObjectError } from './errors.ts';
import { decodeSnapshot, decodeTree, entryContent } from './objects.ts';
import { contentOf, type Ref } from './refs.ts';
import type { BlobSource } from './types.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

export interface Reachable {
  /** Blob ids (hex) of every snapshot, tree part, chunk list and chunk named. */
  ids: Set<string>;
  snapshots: number;
  trees: number;
  files: number;
}

/** What one tree part names: its files' blobs (chunk lists and their chunks) and the tree parts after it. */
export interface TreePartBlobs {
  /** Blob ids (hex): the part itself, then its files' data or list blobs and the lists' chunks. */
  ids: string[];
  /** Subdirectories' trees, then the part's `next` part. */
  trees: Ref[];
  files: number;
}

/**
 * Read one tree part and collect what it names. `seen(id)`: a file blob already collected elsewhere (a chunk list
 * is read once per walk, not once per file that names it).
 */
export async function treePartBlobs(
  reader: ReturnType<BlobSource['reader']>,
  repo: Parameters<BlobSource['reader']>[0],
  part: Ref,
  opts: { signal?: AbortSignal; seen?: (id: string) => boolean } = {}
): Promise<TreePartBlobs> {
  const out: TreePartBlobs = { ids: [hex(part.id)], trees: [], files: 0 };
  const mine = new Set<string>();
  const t = decodeTree(await reader.loadBlob('tree', part, { signal: opts.signal }), repo);
  for (const e of t.entries) {
    opts.signal?.throwIfAborted();
    if (e.type === 'symlink') continue;
    const c = entryContent(e, e.type === 'dir' ? ['tree'] : ['data', 'list']);
    if (c.kind === 'lit') continue;
    if (e.type === 'dir') {
      out.trees.push(c);
      continue;
    }
    out.files++;
    const fid = hex(c.id);
    if (mine.has(fid) || opts.seen?.(fid)) continue;
    mine.add(fid);
    out.ids.push(fid);
    if (c.kind === 'list') {
      const list = decodeChunkList(await reader.loadBlob('list', c, { signal: opts.signal, maxPlain: MAX_BLOB_BYTES }), e.size!);
      for (const ch of list) out.ids.push(hex(ch.id));
    }
  }
  if (t.next) out.trees.push(t.next);
  return out;
}

/** Walk snapshots (caps of one repository each; several repositories are fine) and collect what they name. */
export async function reachableBlobs(src: BlobSource, snapshotCaps: Iterable<string>, opts: { signal?: AbortSignal } = {}): Promise<Reachable> {
  const out: Reachable = { ids: new Set(), snapshots: 0, trees: 0, files: 0 };
  const seen = (id: string) => out.ids.has(id);
  const visitTree = async (reader: ReturnType<BlobSource['reader']>, repo: Parameters<BlobSource['reader']>[0], ref: Ref): Promise<void> => {
    if (out.ids.has(hex(ref.id))) return;
    out.ids.add(hex(ref.id));
    out.trees++;
    const p = await treePartBlobs(reader, repo, ref, { signal: opts.signal, seen });
    for (const id of p.ids) out.ids.add(id);
    out.files += p.files;
    for (const t of p.trees) await visitTree(reader, repo, t);
  };
  for (const cap of snapshotCaps) {
    opts.signal?.throwIfAborted();
    const c = contentOf(cap, ['snapshot']);
    if (c.kind === 'lit') throw new InvalidObjectError('a snapshot cap names a blob');
    const reader = src.reader(c.repo);
    out.ids.add(hex(c.id));
    out.snapshots++;
    const s = decodeSnapshot(await reader.loadBlob('snapshot', c, { signal: opts.signal }), c.repo);
    const root = contentOf(s.root, ['tree']);
    if (root.kind !== 'lit') await visitTree(reader, c.repo, root);
  }
  return out;
}
