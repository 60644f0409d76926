// Single files put into the swarm and fetched by cap (POST /api/files, GET /api/files/:cap, `put`, `get`):
// format 2 stores a file's content in the owner's repository like any backed-up file (chunked, compressed,
// deduplicated, in packs); its cap is a blob cap that opens this file only.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { BadRequestError, UnsupportedError } from '../common/errors.ts';
import type { PeerService, PutOptions, PutResult } from '../api/service.ts';
import type { FolderService } from './folders.ts';

export interface FilesInit {
  /** The repository files go into (null on a peer without one: put and get refuse). */
  folders: () => FolderService | null;
  encoding: { k: number; n: number; happy: number };
  /** Called once per file put or fetched (metrics). */
  onTransfer: (kind: 'upload' | 'download') => void;
  log?: Logger;
}

export function createFiles(init: FilesInit): Pick<PeerService, 'putFile' | 'getFile'> {
  const { encoding } = init;
  const repoOf = () => {
    const f = init.folders();
    if (!f) throw new UnsupportedError('this peer runs without a repository: put and get need one');
    return f;
  };
  return {
    async putFile(input, o: PutOptions): Promise<PutResult> {
      const folders = repoOf();
      if ((o.k ?? encoding.k) !== encoding.k || (o.n ?? encoding.n) !== encoding.n || (o.happy ?? encoding.happy) !== encoding.happy) {
        throw new BadRequestError(`files are stored in the repository's packs, coded ${encoding.k}-of-${encoding.n} (happy ${encoding.happy}) as config.json's "encoding" says; other parameters per file are not supported`);
      }
      let stream: AsyncIterable<Uint8Array>;
      if ('path' in input) {
        const st = await stat(input.path).catch(() => null);
        if (!st?.isFile()) throw new BadRequestError(`not a readable file: ${input.path}`, { path: input.path });
        stream = createReadStream(input.path, { highWaterMark: 1 << 20 });
      } else {
        stream = input.stream;
      }
      const r = await folders.putFile(stream, { signal: o.signal });
      init.onTransfer('upload');
      init.log?.info({ size: r.size, blobs: r.blobsNew, packs: r.packs }, 'put');
      return r;
    },

    async getFile(cap, o) {
      const c = await repoOf().openFile({ cap }, { signal: o.signal });
      init.onTransfer('download');
      return { size: c.size, stream: Readable.from(c.stream) };
    }
  };
}
