// The real CLI against a real local swarm (5 storage peers + the client daemon, one process each):
// every command that takes a cap also takes it from stdin (`-`) or a file (`--cap-file`), keeping it off
// the command line (issue 17 item 10); names, link targets and paths from snapshots, including crafted
// ones with terminal escapes and a 30-digit mtime, reach the terminal escaped (issue 17 item 13).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startSwarm, type Swarm } from '../../src/peer/swarm.ts';
import { UNKNOWN_TIME } from '../../src/cli/render.ts';
import { cli, tempDir } from '../integration/helpers.ts';

/** What a terminal would act on (C0 but newline, DEL, C1, bidi overrides and isolates). */
const RAW = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/;
const CLEAR = '\x1b[2J';
const TITLE = '\x1b]0;owned\x07';

let tmp: { dir: string; cleanup: () => Promise<void> };
let swarm: Swarm;
let home: string;
const run = (args: string[], input?: string) => cli(['--home', home, ...args], { input });
const ok = (r: { code: number; stdout: string; stderr: string }, what: string) => assert.equal(r.code, 0, `${what}: ${r.stderr}${r.stdout}`);
const lastJson = (r: { stdout: string }) => JSON.parse(r.stdout.trim().split('\n').at(-1)!);
async function capFile(name: string, cap: string): Promise<string> {
  const p = join(tmp.dir, name);
  await writeFile(p, `${cap}\n`, { mode: 0o600 });
  return p;
}

before(async () => {
  tmp = await tempDir('p2pb-cli-swarm-');
  swarm = await startSwarm({ dir: tmp.dir, peers: 5 });
  home = swarm.info.client.home;
});
after(async () => {
  await swarm?.stop();
  await tmp?.cleanup();
});

test('a folder with hostile names: backup -v, snapshots, ls, diff and restore take caps from stdin and files and print names escaped', async () => {
  const src = join(tmp.dir, 'src');
  await mkdir(src);
  await writeFile(join(src, `clear${CLEAR}.txt`), 'one');
  await symlink(`target${TITLE}`, join(src, 'link'));
  const first = await run(['--json', 'backup', src]);
  ok(first, 'first backup');
  const { rootCap, snapshotCap: snap1 } = lastJson(first);
  const rootFile = await capFile('root.cap', rootCap);

  await writeFile(join(src, '\u202egnp.exe'), 'two');
  const second = await run(['backup', '-v', src]);
  ok(second, 'second backup');
  assert.doesNotMatch(second.stdout, RAW, 'verbose lines and the summary are escaped');
  assert.match(second.stdout, /\\u202egnp\.exe/);

  const listed = await run(['snapshots', '--cap-file', rootFile]);
  ok(listed, 'snapshots --cap-file');
  assert.equal(listed.stdout.trim().split('\n').length, 2);
  const snaps = lastJson(await run(['--json', 'snapshots', '-'], `${rootCap}\n`)).snapshots.map((s: { cap: string }) => s.cap);
  assert.equal(snaps[0], snap1, 'snapshots - reads the root cap from stdin');
  const snap2 = snaps[1];

  // ls of the root cap (its latest snapshot), cap from stdin and from a file: same output, escaped.
  const lsStdin = await run(['ls', '-'], `\n  ${rootCap}  \n`);
  ok(lsStdin, 'ls -');
  const lsFile = await run(['ls', '--cap-file', rootFile]);
  ok(lsFile, 'ls --cap-file');
  assert.equal(lsFile.stdout, lsStdin.stdout);
  assert.doesNotMatch(lsFile.stdout, RAW);
  assert.match(lsFile.stdout, /clear\\x1b\[2J\.txt/);
  assert.match(lsFile.stdout, / link -> target\\x1b\]0;owned\\x07$/m);

  // diff: two caps from two stdin lines, or from two files.
  const diffStdin = await run(['diff', '-', '-'], `${snap1}\n${snap2}\n`);
  ok(diffStdin, 'diff - -');
  assert.equal(diffStdin.stdout.trim(), '+ \\u202egnp.exe');
  const diffFiles = await run(['diff', '--cap-file', await capFile('s1.cap', snap1), '--cap-file', await capFile('s2.cap', snap2)]);
  ok(diffFiles, 'diff --cap-file --cap-file');
  assert.equal(diffFiles.stdout, diffStdin.stdout);

  // restore: with --cap-file the target is the first positional argument.
  const target = join(tmp.dir, 'restored');
  const restored = await run(['restore', '-v', '--cap-file', rootFile, target]);
  ok(restored, 'restore --cap-file TARGET');
  assert.doesNotMatch(restored.stdout, RAW);
  assert.equal(await readFile(join(target, `clear${CLEAR}.txt`), 'utf8'), 'one');
  const check = await run(['--json', 'check', '--deep', '-'], rootCap);
  ok(check, 'check --deep -');
  assert.equal(lastJson(check).unrecoverable, 0);

  const missing = await run(['restore', '--cap-file', rootFile]);
  assert.equal(missing.code, 2, 'a target is still required');
  const none = await run(['ls']);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /missing cap argument/);
  const tooMany = await run(['ls', '--cap-file', rootFile, '--cap-file', rootFile]);
  assert.equal(tooMany.code, 2);
  const empty = await run(['ls', '-'], '\n\n');
  assert.equal(empty.code, 2, 'stdin without a cap line');
});

test('get, cap show and check take a file cap from stdin or a file', async () => {
  const src = join(tmp.dir, 'file.bin');
  await writeFile(src, 'some bytes worth more than a literal cap can hold, so they go to the swarm');
  const put = await run(['put', src]);
  ok(put, 'put');
  const cap = put.stdout.trim();
  const file = await capFile('file.cap', cap);
  assert.equal((await run(['get', '-'], cap)).stdout, await readFile(src, 'utf8'));
  const out = join(tmp.dir, 'copy.bin');
  ok(await run(['get', '--cap-file', file, '-o', out]), 'get --cap-file -o');
  assert.equal(await readFile(out, 'utf8'), await readFile(src, 'utf8'));
  const shown = await run(['--json', 'cap', 'show', '--cap-file', file]);
  ok(shown, 'cap show --cap-file');
  assert.equal(lastJson(shown).type, 'blob');
  const checked = await run(['--json', 'check', '--cap-file', file]);
  ok(checked, 'check --cap-file');
  assert.equal(lastJson(checked).recoverable, true);
});
