// A HeadStore in one local file, for tests only (the daemon's is a mutable signed slot): compare-and-swap
// on seq, atomic replace by rename.
import { readFile, rename, writeFile } from 'node:fs/promises';
import { decodeHead, encodeHead, HeadConflictError, type FolderHead, type HeadStore } from '../../src/backup/index.ts';

/** `remember`: the store offers `known` (the head as it last read or wrote it), as the daemon's does. */
export function fileHeadStore(path: string, o: { remember?: boolean } = {}): HeadStore & { writes: number; reads: number } {
  let last: { seq: number; head: FolderHead } | null = null;
  const hs = {
    writes: 0,
    reads: 0,
    async read(): Promise<{ seq: number; head: FolderHead } | null> {
      hs.reads++;
      return (last = await current());
    },
    async write(head: FolderHead, prevSeq: number | null): Promise<void> {
      const cur = await current();
      if ((cur?.seq ?? null) !== prevSeq) throw new HeadConflictError(prevSeq, cur?.seq ?? null);
      await writeFile(`${path}.tmp`, JSON.stringify({ seq: (prevSeq ?? 0) + 1, head: Buffer.from(encodeHead(head)).toString('base64') }));
      await rename(`${path}.tmp`, path);
      hs.writes++;
      last = { seq: (prevSeq ?? 0) + 1, head };
    },
    ...(o.remember ? { known: () => last } : {})
  };
  async function current(): Promise<{ seq: number; head: FolderHead } | null> {
    try {
      const { seq, head } = JSON.parse(await readFile(path, 'utf8'));
      return { seq, head: decodeHead(Buffer.from(head, 'base64')) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }
  return hs;
}
