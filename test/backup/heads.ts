// A HeadStore in one local file, for tests only (the daemon's is a mutable signed slot): compare-and-swap
// on seq, atomic replace by rename.
import { readFile, rename, writeFile } from 'node:fs/promises';
import { decodeHead, encodeHead, HeadConflictError, type FolderHead, type HeadStore } from '../../src/backup/index.ts';

export function fileHeadStore(path: string): HeadStore & { writes: number } {
  const hs = {
    writes: 0,
    async read(): Promise<{ seq: number; head: FolderHead } | null> {
      try {
        const { seq, head } = JSON.parse(await readFile(path, 'utf8'));
        return { seq, head: decodeHead(Buffer.from(head, 'base64')) };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw err;
      }
    },
    async write(head: FolderHead, prevSeq: number | null): Promise<void> {
      const cur = await hs.read();
      if ((cur?.seq ?? null) !== prevSeq) throw new HeadConflictError(prevSeq, cur?.seq ?? null);
      await writeFile(`${path}.tmp`, JSON.stringify({ seq: (prevSeq ?? 0) + 1, head: Buffer.from(encodeHead(head)).toString('base64') }));
      await rename(`${path}.tmp`, path);
      hs.writes++;
    }
  };
  return hs;
}
