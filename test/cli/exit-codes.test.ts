// The README's exit codes that need a swarm: 6 (data failed verification and could not be recovered from
// other peers) and 130 (interrupted: Ctrl-C, as the shell reports it). 2, 3, 4 and 5 are in cli.test.ts
// and integration/swarm.test.ts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants } from 'node:os';
import { mkdir, readFile, writeFile, access } from 'node:fs/promises';
import { join } from 'node:path';
import { startSwarm, type Swarm } from '../../src/peer/swarm.ts';
import { EXIT } from '../../src/cli/exit-codes.ts';
import { BIN, cli, exited, tempDir } from '../integration/helpers.ts';
import { DEFAULT_SEGMENT_SIZE } from '../../src/format/constants.ts';
import { geometry } from '../../src/format/geometry.ts';

let swarm: Swarm;
let tmp: { dir: string; cleanup: () => Promise<void> };
before(async () => {
  tmp = await tempDir('p2pb-exit-');
  swarm = await startSwarm({ dir: join(tmp.dir, 'swarm'), peers: 5 });
});
after(async () => {
  await swarm?.stop();
  await tmp?.cleanup();
});
const home = () => swarm.info.dir;

// Every share of a file corrupt on every holder's disk: the shares are there, none verifies. The file route
// reads the first bytes before it answers, so the error arrives as itself (ERR_CORRUPT_DATA), not as a 200 cut
// short, and nothing is written.
test('exit 6: every share of a file fails verification, so no peer can give it back', async () => {
  const bytes = randomBytes(300_000);
  const file = join(tmp.dir, 'f.bin');
  await writeFile(file, bytes);
  const put = await cli(['--home', home(), '--json', 'put', file]);
  assert.equal(put.code, 0, put.stderr);
  const { cap, storageIndex, placements } = JSON.parse(put.stdout.trim().split('\n').at(-1)!);
  // Flip bytes inside the first block of every share, on every holder's disk.
  const g = geometry({ k: 3, n: 5, segmentSize: DEFAULT_SEGMENT_SIZE, fileSize: bytes.length });
  for (const [share, holders] of Object.entries(placements as Record<string, string[]>)) {
    for (const id of holders) {
      const peer = swarm.info.peers.find((p) => p.peerId === id)!;
      const path = join(peer.home, 'store', 'shares', storageIndex.slice(0, 2), storageIndex, share);
      const b = await readFile(path);
      for (let j = 0; j < 32; j++) b[g.blocksOffset + 10 + j] ^= 0xff;
      await writeFile(path, b);
    }
  }
  const out = join(tmp.dir, 'f.out');
  const get = await cli(['--home', home(), 'get', cap, '-o', out]);
  assert.equal(get.code, EXIT.CORRUPT, `exit ${get.code}: ${get.stderr}`);
  assert.match(get.stderr, /need 3 good shares, found 0; 5 failed verification/);
  assert.equal(EXIT.CORRUPT, 6);
  await assert.rejects(access(out), 'nothing written');
});

test('exit 130: Ctrl-C during a backup ends the command by SIGINT, which the shell reports as 130', async () => {
  const src = join(tmp.dir, 'big');
  await mkdir(src);
  for (let i = 0; i < 4; i++) await writeFile(join(src, `f${i}.bin`), randomBytes(16 * 2 ** 20));
  // Through a shell, as a user runs it: the shell prints the status it saw.
  const sh = spawn('bash', ['-c', '"$0" "$@"; echo "status $?" >&2', process.execPath, BIN, '--home', home(), '--json', 'backup', src], {
    stdio: ['ignore', 'pipe', 'pipe']
  });
  const done = exited(sh);
  let stderr = '';
  sh.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  // Under way: the first status line of the backup.
  await new Promise<void>((resolve, reject) => {
    let out = '';
    sh.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (/"type":"status"/.test(out)) resolve();
    });
    void done.then(() => reject(new Error(`the backup ended before its first status line: ${out} ${stderr}`)));
  });
  const node = Number((await readFile(`/proc/${sh.pid}/task/${sh.pid}/children`, 'utf8')).trim().split(/\s+/)[0]);
  assert.ok(node > 0, "the command runs as the shell's child");
  process.kill(node, 'SIGINT');
  assert.deepEqual(await done, { code: 0, signal: null });
  assert.equal(128 + constants.signals.SIGINT, EXIT.INTERRUPTED);
  assert.match(stderr, /^status 130$/m, stderr);
});
