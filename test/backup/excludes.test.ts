import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile, chmod } from 'node:fs/promises';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backup, walkTree, FileReadError, type BlobSource } from '../../src/backup/index.ts';
import { createGrid, type Grid } from './grid.ts';
import { makeTree } from './tree.ts';

let grid: Grid, work: string;
before(async () => { grid = await createGrid(); work = await mkdtemp(join(tmpdir(), 'p2pb-exc-')); });
after(async () => { await grid.close(); await rm(work, { recursive: true, force: true }); });

async function paths(store: BlobSource, root: string): Promise<string[]> {
  const out: string[] = [];
  for await (const { path } of walkTree(store, root)) out.push(path);
  return out.sort();
}

test('excludes: --exclude, --exclude-file, .p2pbackupignore (relative, negation, dir-only), --exclude-if-present', async () => {
  const src = join(work, 'src');
  await makeTree(src, {
    'keep.txt': { type: 'file', content: 'k' },
    'a.log': { type: 'file', content: 'log' },
    'node_modules': { type: 'dir' },
    'node_modules/x.js': { type: 'file', content: 'x' },
    'proj': { type: 'dir' },
    'proj/.p2pbackupignore': { type: 'file', content: '# comment\n*.o\n!keep.o\n/build/\ncache\n' },
    'proj/main.o': { type: 'file', content: 'o' },
    'proj/keep.o': { type: 'file', content: 'o' },
    'proj/build': { type: 'dir' },
    'proj/build/out': { type: 'file', content: 'b' },
    'proj/src': { type: 'dir' },
    'proj/src/build': { type: 'file', content: 'a file named build is not a dir' },
    'proj/src/cache': { type: 'file', content: 'c' },
    'proj/src/.hidden.o': { type: 'file', content: 'h' },
    'other.o': { type: 'file', content: 'ignore file rules apply only below their directory' },
    'secret': { type: 'dir' },
    'secret/.nobackup': { type: 'file', content: '' },
    'secret/data': { type: 'file', content: 'd' },
    'tmp': { type: 'dir' },
    'tmp/t': { type: 'file', content: 't' },
  });
  const excludeFile = join(work, 'excludes.txt');
  await writeFile(excludeFile, 'tmp/\n\n# comment\n');
  const events: string[] = [];
  const r = await backup(src, {
    repo: grid.repo, chunker: grid.chunker, excludes: ['*.log', 'node_modules'], excludeFiles: [excludeFile], excludeIfPresent: ['.nobackup'],
    onProgress: (e) => { if (e.type === 'backup:backup:excluded') events.push(e.path.slice(src.length + 1)); }
  });
  assert.deepEqual(await paths(grid.src, r.root), [
    'keep.txt', 'other.o', 'proj', 'proj/.p2pbackupignore', 'proj/keep.o', 'proj/src', 'proj/src/build',
  ]);
  assert.deepEqual(events.sort(), ['a.log', 'node_modules', 'proj/build', 'proj/main.o', 'proj/src/.hidden.o', 'proj/src/cache', 'secret', 'tmp']);
  assert.equal(r.stats.excluded, 8);
});

test('unreadable, vanished and special files are reported, skipped, and do not abort', async () => {
  const src = join(work, 'errs');
  await makeTree(src, {
    'a-first': { type: 'file', content: 'the first file, long enough to be stored as shares on the grid' },
    'b-vanishes': { type: 'file', content: 'removed after the walk saw it but before it is read; long' },
    'c-last': { type: 'file', content: 'the last file, long enough to be stored as shares on the grid!' },
  });
  execFileSync('mkfifo', [join(src, 'fifo')]);
  const unreadable = join(src, 'd-unreadable');
  await writeFile(unreadable, 'no permission to read this file (only when not running as root)');
  await chmod(unreadable, 0o000);
  const asRoot = process.getuid?.() === 0;

  const seen: { path: string; err: Error }[] = [];
  const r = await backup(src, {
    repo: grid.repo, chunker: grid.chunker,
    concurrency: 1, // files are read in name order, so a-first finishes before b-vanishes is opened
    onProgress: (e) => { if (e.type === 'backup:backup:file' && e.path.endsWith('a-first')) fs.unlinkSync(join(src, 'b-vanishes')); },
    onItemError: (path, err) => { seen.push({ path, err }); }
  });
  const expected = [join(src, 'b-vanishes'), ...(asRoot ? [] : [unreadable]), join(src, 'fifo')].sort();
  assert.deepEqual(seen.map((s) => s.path).sort(), expected);
  assert.deepEqual(r.stats.skipped.map((s) => s.path).sort(), expected);
  const vanished = seen.find((s) => s.path.endsWith('b-vanishes'))!.err;
  assert.ok(vanished instanceof FileReadError);
  assert.equal(vanished.details.errno, 'ENOENT');
  assert.equal(seen.find((s) => s.path.endsWith('fifo'))!.err.name, 'UnsupportedEntryError');
  const names = await paths(grid.src, r.root);
  assert.deepEqual(names, ['a-first', 'c-last', ...(asRoot ? ['d-unreadable'] : [])]);

  // Throwing from onItemError aborts the backup with that error.
  await assert.rejects(backup(src, { repo: grid.repo, chunker: grid.chunker, onItemError: (_p, err) => { throw err; } }), { name: 'UnsupportedEntryError' });
  await chmod(unreadable, 0o600);
});

