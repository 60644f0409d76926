// `npm run bench -- startup` (bench/startup.ts) on the build: one run of each program, as JSON. Every program the
// build ships starts a daemon that gets ready and stops, and answers --version; what each costs is the bench's to
// print, not this test's to judge. Skipped when dist/ is missing or older than src/ (`npm test` always builds first):
// the bench would build, and a build empties dist/ under any test using it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { buildIsCurrent } from '../../bench/common.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

test(
  'bench startup: a daemon from each program gets ready and stops; each answers --version',
  { skip: buildIsCurrent() ? false : 'dist/ is missing or older than src/' },
  async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [join(root, 'bench', 'index.ts'), 'startup', '--runs', '1', '--json'], {
      cwd: root,
      timeout: 120_000
    });
    const rows = JSON.parse(stdout) as {
      program: string;
      what: string;
      runs: number;
      cpuSeconds: number;
      readyMs: number | null;
      wallMs: number;
      peakRssMB: number;
    }[];
    const daemons = rows.filter((r) => r.what === 'daemon start and stop');
    const commands = rows.filter((r) => r.what === 'command --version');
    assert.deepEqual(
      daemons.map((r) => r.program),
      ['sources', 'dist modules', 'bundle', 'installed']
    );
    assert.deepEqual(
      commands.map((r) => r.program),
      ['sources', 'dist modules', 'bundle', 'installed', 'floor']
    );
    for (const r of rows) {
      assert.equal(r.runs, 1);
      assert.ok(r.cpuSeconds > 0 && r.peakRssMB > 40, `${r.program} ${r.what}: measured (${r.cpuSeconds} CPU s, ${r.peakRssMB} MiB)`);
    }
    // A daemon's ready time is inside its life; a command has none.
    for (const r of daemons) assert.ok(r.readyMs !== null && r.readyMs > 0 && r.readyMs <= r.wallMs, `${r.program}: ready ${r.readyMs} of ${r.wallMs} ms`);
    for (const r of commands) assert.equal(r.readyMs, null);
  }
);
