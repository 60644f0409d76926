// `put` (a file into the swarm, prints its read cap) and `get` (a file back by its cap, verified).
import type { Command } from 'commander';
import { createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable, Transform } from 'node:stream';
import { P2PBackupError } from '../../common/errors.ts';
import { intOption, resolveCaps, withCapFile, type Context } from '../context.ts';
import { createProgress } from '../progress.ts';
import { printable } from '../render.ts';

export function registerFiles(program: Command, ctx: Context): void {
  program
    .command('put')
    .description('store a file in the swarm; prints its read cap')
    .argument('<file>')
    .option('-k <k>', 'shares needed to read the file', intOption('-k'))
    .option('-n <n>', 'shares made', intOption('-n'))
    .option('--happy <h>', 'distinct peers that must hold shares', intOption('--happy'))
    .action(async (file: string, o) => {
      const path = resolve(file);
      const st = await stat(path).catch(() => null);
      if (!st?.isFile()) throw new P2PBackupError('ERR_USAGE', `not a readable file: ${file}`);
      const api = await ctx.api();
      const q = new URLSearchParams({ progress: '1' });
      if (o.k !== undefined) q.set('k', String(o.k));
      if (o.n !== undefined) q.set('n', String(o.n));
      if (o.happy !== undefined) q.set('happy', String(o.happy));
      const progress = createProgress(ctx.io, 'put', st.size, ctx.json());
      let result: any;
      try {
        result = await api.operation(
          'POST',
          `/api/files?${q}`,
          { path },
          {
            onEvent: (e) => {
              if (e.type === 'client:upload:encode') progress.update(e);
            }
          }
        );
      } finally {
        progress.stop();
      }
      ctx.out(result, () => printable(result.cap));
    });

  withCapFile(
    program
      .command('get')
      .description('fetch a file by its cap, verified; to stdout or -o FILE')
      .argument('[cap]', 'the read cap, or - to read it from stdin')
      .option('-o, --output <file>', 'write here (atomically) instead of stdout')
  ).action(async (arg: string | undefined, o) => {
    const {
      caps: [cap]
    } = await resolveCaps(ctx.io, 1, [arg], o.capFile);
    const api = await ctx.api();
    const res = await api.request('GET', `/api/files/${encodeURIComponent(cap)}`);
    const size = Number(res.headers.get('content-length') ?? 0);
    const body = Readable.fromWeb(res.body as any);
    if (!o.output) {
      await pipeline(body, ctx.io.stdout);
      return;
    }
    const target = resolve(o.output);
    const tmp = `${target}.p2pbackup-tmp-${ctx.io.pid}`;
    const progress = createProgress(ctx.io, 'get', size, ctx.json());
    let done = 0;
    const count = new Transform({
      transform(chunk, _enc, cb) {
        done += chunk.length;
        progress.update({ type: 'bytes', bytes: done });
        cb(null, chunk);
      }
    });
    try {
      await pipeline(body, count, createWriteStream(tmp));
      if (done !== size) throw new P2PBackupError('ERR_CORRUPT_SHARE', `download ended after ${done} of ${size} bytes`);
      await rename(tmp, target);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    } finally {
      progress.stop();
    }
    ctx.out({ path: target, size }, () => `wrote ${printable(target)} (${size} bytes)`);
  });
}
