// The file-writer thread (file-writer.ts): creates each file under its temporary name with its bytes, mode
// and mtime (or a symlink with its mtime), then renames it into place; a failure removes the temporary file and is reported by job id.
// Every job of a batch is a view of one buffer, which goes back with the results.
import { parentPort } from 'node:worker_threads';
import { closeSync, constants as fsc, fchmodSync, futimesSync, lutimesSync, openSync, renameSync, rmSync, symlinkSync, writeSync } from 'node:fs';
import type { WriteBatch, WriteDone, WriteResult } from './file-writer.ts';

parentPort!.on('message', ({ jobs }: WriteBatch) => {
  const results: WriteResult[] = [];
  for (const j of jobs) {
    let created = false; // only a temporary file made here is removed on failure
    try {
      if (j.link !== undefined) {
        symlinkSync(j.link, j.tmp);
        created = true;
        lutimesSync(j.tmp, j.time, j.time);
        renameSync(j.tmp, j.path);
        results.push({ id: j.id });
        continue;
      }
      const fd = openSync(j.tmp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, 0o600);
      created = true;
      try {
        for (let at = 0; at < j.bytes.length;) at += writeSync(fd, j.bytes, at, j.bytes.length - at);
        fchmodSync(fd, j.mode);
        futimesSync(fd, j.time, j.time);
      } finally {
        closeSync(fd);
      }
      renameSync(j.tmp, j.path);
      results.push({ id: j.id });
    } catch (err) {
      if (created) rmSync(j.tmp, { force: true });
      const e = err as NodeJS.ErrnoException;
      results.push({ id: j.id, error: { message: e.message, code: e.code } });
    }
  }
  // The batch's buffer goes back (moved, not copied) for the next batch.
  const buffer = jobs[0]?.bytes.buffer as ArrayBuffer | undefined;
  parentPort!.postMessage({ results, buffer } satisfies WriteDone, buffer ? [buffer] : []);
});
