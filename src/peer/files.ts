// Single files put into the swarm and fetched by cap (POST /api/files, GET /api/files/:cap, `put`, `get`):
// a local path is read in place; a streamed body is spooled under HOME/tmp first, because the convergent
// key's hashing pass must read it twice.
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Logger } from 'pino';
import { BadRequestError } from '../common/errors.ts';
import { fileInput } from '../format/index.ts';
import { download, upload, type ServerFinder } from '../client/index.ts';
import type { PeerService, PutOptions, PutResult } from '../api/service.ts';
import { validateEncoding } from './config.ts';

export interface FilesInit {
  /** Spool directory for streamed bodies (HOME/tmp, owner-only). */
  tmpDir: string;
  finder: ServerFinder;
  encoding: { k: number; n: number; happy: number };
  convergenceSecret: Uint8Array;
  /** Called once per file put or fetched (metrics). */
  onTransfer: (kind: 'upload' | 'download') => void;
  log?: Logger;
}

export function createFiles(init: FilesInit): Pick<PeerService, 'putFile' | 'getFile'> {
  const { finder, encoding } = init;
  return {
    async putFile(input, o: PutOptions): Promise<PutResult> {
      const enc = { k: o.k ?? encoding.k, n: o.n ?? encoding.n, happy: o.happy ?? encoding.happy };
      if (o.n !== undefined && o.happy === undefined) enc.happy = Math.min(enc.happy, enc.n);
      if (o.k !== undefined && o.happy === undefined) enc.happy = Math.max(enc.happy, enc.k);
      validateEncoding(enc, 'put');
      let path: string;
      let spooled = false;
      if ('path' in input) {
        path = input.path;
        const st = await stat(path).catch(() => null);
        if (!st?.isFile()) throw new BadRequestError(`not a readable file: ${path}`, { path });
      } else {
        await mkdir(init.tmpDir, { recursive: true, mode: 0o700 });
        path = join(init.tmpDir, `upload-${randomBytes(8).toString('hex')}`);
        spooled = true;
        await pipeline(Readable.from(input.stream), createWriteStream(path, { mode: 0o600 }), { signal: o.signal });
      }
      try {
        const r = await upload(await fileInput(path), finder, { ...enc, convergenceSecret: init.convergenceSecret, signal: o.signal, onProgress: o.onProgress });
        init.onTransfer('upload');
        init.log?.info({ si: r.storageIndex, size: r.size, happiness: r.happiness }, 'put');
        return r;
      } finally {
        if (spooled) await rm(path, { force: true });
      }
    },

    async getFile(cap, o) {
      const { size, stream } = await download(cap, finder, { signal: o.signal });
      init.onTransfer('download');
      return { size, stream: Readable.from(stream) };
    }
  };
}
