// The API's path guard hands back the path it checked (resolved), so a symlink swapped after the check
// cannot send the operation outside the allowed roots (issue 17 item 17).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, realpath, rm, symlink, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPathGuard } from '../../src/api/paths.ts';

test('allowed() returns the resolved path; swapping a link afterwards changes nothing', async () => {
  const dir = await realpath(await mkdtemp(join(tmpdir(), 'p2pb-paths-')));
  try {
    const root = join(dir, 'root');
    const outside = join(dir, 'outside');
    await mkdir(join(root, 'real'), { recursive: true });
    await mkdir(outside);
    await symlink(join(root, 'real'), join(root, 'link'));
    const allowed = createPathGuard([root]);
    const got = await allowed(join(root, 'link', 'target'), 'restore target');
    assert.equal(got, join(root, 'real', 'target'));
    // The race: the link now points outside; what the caller holds still lies inside the root.
    await unlink(join(root, 'link'));
    await symlink(outside, join(root, 'link'));
    assert.ok(!got.startsWith(outside));
    await assert.rejects(allowed(join(root, 'link', 'target')), (e: any) => e.code === 'ERR_PATH_NOT_ALLOWED');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
