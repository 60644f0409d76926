import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mkdtemp, rm, writeFile, chmod } from 'node:fs/promises';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backup, walkTree, FileReadError, type BlobSource } from '../../src/backup/index.ts';
import { createGrid, type Grid } from './grid.ts';
import { makeTree } from './tree.ts';

let grid: Grid, work: string;
before(async () => {
  grid = await createGrid();
  work = await mkdtemp(join(tmpdir(), 'p2pb-exc-'));
});
after(async () => {
  await grid.close();
  await rm(work, { recursive: true, force: true });
});

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
    node_modules: { type: 'dir' },
    'node_modules/x.js': { type: 'file', content: 'x' },
    proj: { type: 'dir' },
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
    secret: { type: 'dir' },
    'secret/.nobackup': { type: 'file', content: '' },
    'secret/data': { type: 'file', content: 'd' },
    tmp: { type: 'dir' },
    'tmp/t': { type: 'file', content: 't' }
  });
  const excludeFile = join(work, 'excludes.txt');
  await writeFile(excludeFile, 'tmp/\n\n# comment\n');
  const events: string[] = [];
  const r = await backup(src, {
    repo: grid.repo,
    chunker: grid.chunker,
    excludes: ['*.log', 'node_modules'],
    excludeFiles: [excludeFile],
    excludeIfPresent: ['.nobackup'],
    onProgress: (e) => {
      if (e.type === 'backup:backup:excluded') events.push(e.path.slice(src.length + 1));
    }
  });
  assert.deepEqual(await paths(grid.src, r.root), ['keep.txt', 'other.o', 'proj', 'proj/.p2pbackupignore', 'proj/keep.o', 'proj/src', 'proj/src/build']);
  assert.deepEqual(events.sort(), ['a.log', 'node_modules', 'proj/build', 'proj/main.o', 'proj/src/.hidden.o', 'proj/src/cache', 'secret', 'tmp']);
  assert.equal(r.stats.excluded, 8);
});

// Root reads a file whatever its mode, so as root (CI runs as root) a 0o000 file is not unreadable: this
// test then runs itself again in a child process whose privileges really drop to `nobody`.
const UNREADABLE_TEST = 'unreadable, vanished and special files are reported, skipped, and do not abort';
const asRoot = process.getuid?.() === 0;

/** uid and gid of `nobody`, or null when there is no such user. */
function nobody(): { uid: number; gid: number } | null {
  try {
    return { uid: Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' })), gid: Number(execFileSync('id', ['-g', 'nobody'], { encoding: 'utf8' })) };
  } catch {
    return null;
  }
}

test(UNREADABLE_TEST, async (t) => {
  if (asRoot) {
    const ids = nobody();
    if (!ids) return t.skip('running as root and there is no user "nobody" to drop privileges to: a 0o000 file is readable by root');
    // NODE_TEST_CONTEXT would make the child report to this runner instead of printing TAP.
    const { NODE_TEST_CONTEXT: _, ...env } = process.env;
    const r = spawnSync(process.execPath, ['--test', '--test-reporter=tap', `--test-name-pattern=^${UNREADABLE_TEST}$`, fileURLToPath(import.meta.url)], {
      ...ids,
      cwd: tmpdir(),
      env: { ...env, HOME: tmpdir() },
      encoding: 'utf8',
      timeout: 120_000
    });
    assert.equal(r.status, 0, `as nobody:\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /^# pass 1$/m, 'the test ran and passed as nobody');
    assert.match(r.stdout, /^# skipped 0$/m);
    return;
  }
  const src = join(work, 'errs');
  await makeTree(src, {
    'a-first': { type: 'file', content: 'the first file, long enough to be stored as shares on the grid' },
    'b-vanishes': { type: 'file', content: 'removed after the walk saw it but before it is read; long' },
    'c-last': { type: 'file', content: 'the last file, long enough to be stored as shares on the grid!' }
  });
  execFileSync('mkfifo', [join(src, 'fifo')]);
  const unreadable = join(src, 'd-unreadable');
  await writeFile(unreadable, 'no permission to read this file');
  await chmod(unreadable, 0o000);
  assert.throws(() => fs.readFileSync(unreadable), { code: 'EACCES' }, 'this process cannot read a 0o000 file');

  const seen: { path: string; err: Error }[] = [];
  const r = await backup(src, {
    repo: grid.repo,
    chunker: grid.chunker,
    concurrency: 1, // files are read in name order, so a-first finishes before b-vanishes is opened
    onProgress: (e) => {
      if (e.type === 'backup:backup:file' && e.path.endsWith('a-first')) fs.unlinkSync(join(src, 'b-vanishes'));
    },
    onItemError: (path, err) => {
      seen.push({ path, err });
    }
  });
  const expected = [join(src, 'b-vanishes'), unreadable, join(src, 'fifo')].sort();
  assert.deepEqual(seen.map((s) => s.path).sort(), expected);
  assert.deepEqual(r.stats.skipped.map((s) => s.path).sort(), expected);
  const vanished = seen.find((s) => s.path.endsWith('b-vanishes'))!.err;
  assert.ok(vanished instanceof FileReadError);
  assert.equal(vanished.details.errno, 'ENOENT');
  const denied = seen.find((s) => s.path === unreadable)!.err;
  assert.ok(denied instanceof FileReadError);
  assert.equal(denied.details.errno, 'EACCES');
  assert.equal(seen.find((s) => s.path.endsWith('fifo'))!.err.name, 'UnsupportedEntryError');
  const names = await paths(grid.src, r.root);
  assert.deepEqual(names, ['a-first', 'c-last']);

  // Throwing from onItemError aborts the backup with that error: the first in name order, d-unreadable's.
  await assert.rejects(
    backup(src, {
      repo: grid.repo,
      chunker: grid.chunker,
      onItemError: (_p, err) => {
        throw err;
      }
    }),
    (err) => err instanceof FileReadError && err.code === 'ERR_BACKUP_READ' && err.details.path === unreadable && err.details.errno === 'EACCES'
  );
  await chmod(unreadable, 0o600);
});
