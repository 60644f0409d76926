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
import { validateEncoding } from './config.ts';
import type { PathInfo } from '../net/index.ts';

export interface FilesInit {
  /** The repository files go into (null on a peer without one: put and get refuse). */
  folders: () => FolderService | null;
  encoding: { k: number; n: number; happy: number };
  /** Called once per file put or fetched (metrics). */
  onTransfer: (kind: 'upload' | 'download') => void;
  log?: Logger;
  /** The path storage traffic took to a peer last (src/net/paths.ts), for the put's answer. */
  pathOf?: (peer: string) => PathInfo | null;
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
      const enc = { k: o.k ?? encoding.k, n: o.n ?? encoding.n, happy: o.happy ?? encoding.happy };
      if (o.n !== undefined && o.happy === undefined) enc.happy = Math.min(enc.happy, enc.n);
      if (o.k !== undefined && o.happy === undefined) enc.happy = Math.max(enc.happy, enc.k);
      validateEncoding(enc, 'put');
      let stream: AsyncIterable<Uint8Array>;
      if ('path' in input) {
        const st = await stat(input.path).catch(() => null);
        if (!st?.isFile()) throw new BadRequestError(`not a readable file: ${input.path}`, { path: input.path });
        stream = createReadStream(input.path, { highWaterMark: 1 << 20 });
      } else {
        stream = input.stream;
      }
      const r = await folders.putFile(stream, { signal: o.signal, encoding: enc });
      init.onTransfer('upload');
      // How each holder of the first pack was reached: the path its share went by (the last one used).
      const paths: PutResult['paths'] = {};
      for (const id of new Set(Object.values(r.placements).flat())) {
        const p = init.pathOf?.(id);
        if (p) paths[id] = { path: p.kind, relay: p.relay };
      }
      init.log?.info({ size: r.size, blobs: r.blobsNew, packs: r.packs, paths }, 'put');
      return { ...r, paths };
    },

    async getFile(cap, o) {
      const c = await repoOf().openFile({ cap }, { signal: o.signal });
      init.onTransfer('download');
      return { size: c.size, stream: Readable.from(c.stream) };
    }
  };
}
