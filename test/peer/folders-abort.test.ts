// The daemon's folder service over a no-network grid: a backup that stops without a snapshot (its caller hung up)
// leaves the repository unlocked, its stored blobs published, and the next backup of the folder working.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createFolderService } from '../../src/peer/folders.ts';
import type { BackupProgress } from '../../src/backup/index.ts';
import { tempDir } from '../integration/helpers.ts';
import { createGrid, ENCODING } from '../backup/grid.ts';
import { makeOneFileDirs } from '../backup/tree.ts';

test('a backup stopped by its caller ends with the repository unlocked, and the next backup of the folder commits', { timeout: 120_000 }, async (t) => {
  const tmp = await tempDir('p2pb-folders-abort-');
  t.after(() => tmp.cleanup());
  const grid = await createGrid();
  t.after(() => grid.close());
  const src = await makeOneFileDirs(join(tmp.dir, 'src'), 1500);
  const home = join(tmp.dir, 'home');
  await mkdir(home);
  const svc = await createFolderService({ home, finder: grid.finder, encoding: ENCODING, convergenceSecret: grid.secret });
  t.after(() => svc.stop());
  await svc.start();

  const hangUp = new AbortController();
  let files = 0;
  const onProgress = (e: BackupProgress) => {
    if (e.type === 'backup:backup:file' && ++files === 100) hangUp.abort(new Error('the client hung up'));
  };
  await assert.rejects(svc.backupNow(src, { onProgress, signal: hangUp.signal }), /hung up/);
  assert.ok(files < 1500, `the backup stopped (${files} files)`);
  // Before the fix the backup lock stayed, refreshed every LOCK_REFRESH_MS for as long as the daemon ran: no
  // other device of the owner could prune.
  const { record } = await svc.repo.readRecord();
  assert.deepEqual(record.locks, []);

  const rec = await svc.backupNow(src, {});
  assert.equal(rec.state, 'in-sync');
  assert.equal(rec.lastStats?.files, 1500);
  assert.deepEqual((await svc.repo.readRecord()).record.locks, []);
  // A watcher's or rescan's batch of an unchanged folder makes no snapshot and commits nothing: unlocked too.
  await svc.engine.runBatch(rec.id, new AbortController().signal);
  assert.equal((await svc.engine.find(rec.id)).lastSnapshot?.cap, rec.lastSnapshot?.cap, 'no new snapshot');
  assert.deepEqual((await svc.repo.readRecord()).record.locks, []);
});
