// `npm run demo`, the README's first command, run as written (through npm), in its short form on a small
// folder of ours (`npm run demo -- DIR`): six storage peers, a backup, a second one, two peers SIGKILLed,
// a fresh device restoring from the root cap, every entry checked; and no daemon left running.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { access, mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exited, tempDir } from '../integration/helpers.ts';
import { homePaths } from '../../src/peer/home.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const tmp = await tempDir('p2pb-demo-');
after(() => tmp.cleanup());

test('npm run demo -- DIR backs up, loses two peers, restores on a fresh device, checks every entry', { timeout: 240_000 }, async () => {
  const src = join(tmp.dir, 'folder');
  await mkdir(join(src, 'sub'), { recursive: true });
  await writeFile(join(src, 'a.txt'), 'a small file\n');
  await writeFile(join(src, 'sub', 'b.bin'), randomBytes(1_500_000), { mode: 0o640 });
  await symlink('a.txt', join(src, 'link'));
  // The demo puts its homes in a new folder of the temp dir: this test's own.
  const work = join(tmp.dir, 'tmp');
  await mkdir(work);
  // The npm_* variables of an outer `npm test` would change how npm runs; the demo needs none.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('npm_')));
  const child = spawn('npm', ['run', 'demo', '--', src], { cwd: root, env: { ...env, TMPDIR: work }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exit = await exited(child);
  assert.deepEqual(exit, { code: 0, signal: null }, `npm run demo failed:\n${out}\n${err}`);
  assert.match(out, /backed up .*folder: 2 files, 2 dirs, 1 symlinks/); // the root and sub
  assert.match(out, /backed up again with nothing changed/);
  assert.match(out, /killed storage peers peer-0 and peer-1 with SIGKILL/);
  assert.match(out, /restored on fresh device B .*: 2 files/);
  assert.match(out, /^verified: 4 entries identical/m, 'a.txt, sub, sub/b.bin, link');
  // (Node's compile cache may sit beside it in the same temp dir.)
  const dir = (await readdir(work)).find((d) => d.startsWith('p2pbackup-demo-'))!;
  assert.match(out, new RegExp(`Everything lives under ${join(work, dir)}`));
  // Every daemon it started stopped cleanly (the two SIGKILLed peers aside): their daemon.json is gone.
  for (const home of [
    join(work, dir, 'device-a'),
    join(work, dir, 'device-b'),
    ...[2, 3, 4, 5].map((i) => join(work, dir, 'device-a', 'peers', `peer-${i}`))
  ]) {
    await assert.rejects(access(homePaths(home).daemon), `${home}: stopped cleanly`);
  }
  await assert.rejects(access(homePaths(join(work, dir, 'device-a')).swarmInfo), 'the swarm is gone');
});
