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

/** Walk snapshots (caps of one repository each; several repositories are fine) and collect what they name. */
export async function reachableBlobs(src: BlobSource, snapshotCaps: Iterable<string>, opts: { signal?: AbortSignal } = {}): Promise<Reachable> {
  const out: Reachable = { ids: new Set(), snapshots: 0, trees: 0, files: 0 };
  const visitTree = async (reader: ReturnType<BlobSource['reader']>, repo: Parameters<BlobSource['reader']>[0], ref: Ref): Promise<void> => {
    for (let part: Ref | undefined = ref; part;) {
      const id = hex(part.id);
      if (out.ids.has(id)) return;
      out.ids.add(id);
      out.trees++;
      const t = decodeTree(await reader.loadBlob('tree', part, { signal: opts.signal }), repo);
      for (const e of t.entries) {
        opts.signal?.throwIfAborted();
        if (e.type === 'symlink') continue;
        const c = entryContent(e, e.type === 'dir' ? ['tree'] : ['data', 'list']);
        if (c.kind === 'lit') continue;
        if (e.type === 'dir') {
          await visitTree(reader, repo, c);
          continue;
        }
        out.files++;
        const fid = hex(c.id);
        if (out.ids.has(fid)) continue;
        out.ids.add(fid);
        if (c.kind === 'list') {
          const list = decodeChunkList(await reader.loadBlob('list', c, { signal: opts.signal, maxPlain: MAX_BLOB_BYTES }), e.size!);
          for (const ch of list) out.ids.add(hex(ch.id));
        }
      }
      part = t.next;
    }
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
