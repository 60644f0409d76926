// `npm test`: build (kernel, dist/, web bundle), type-check everything (the web UI too), check the formatting (Prettier,
// .prettierrc.json: `npm run format` fixes it), then run every test file with node:test,
// and print each file's time at the end (scripts/file-times.ts) so slow files are visible.
import { execFileSync, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// The full build (kernel, then TypeScript into dist/, which the installed `p2pbackup` command runs).
execFileSync(process.execPath, ['scripts/build.ts'], { cwd: root, stdio: 'inherit' });
execFileSync(join(root, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.check.json'], { cwd: root, stdio: 'inherit' });
execFileSync(join(root, 'node_modules', '.bin', 'tsc'), ['-p', 'web/tsconfig.json'], { cwd: root, stdio: 'inherit' });
// Only files Prettier would change are listed; run `npm run format` to fix them.
execFileSync('npm', ['run', '--silent', 'format:check'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
const files = process.argv.slice(2);
// node:test's own choice of reporter (spec on a terminal, TAP otherwise), then the per-file times.
const reporters = [
  `--test-reporter=${process.stdout.isTTY ? 'spec' : 'tap'}`,
  '--test-reporter-destination=stdout',
  '--test-reporter=./scripts/file-times.ts',
  '--test-reporter-destination=stdout'
];
// The daemons and commands the tests start run the bundled CLI just built (src/peer/swarm.ts, CLI_BIN): the same
// sources, at half the start-up CPU of loading them module by module. `node --test FILE` alone runs the sources.
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=2', ...reporters, ...(files.length ? files : ['test/**/*.test.ts'])], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, P2PBACKUP_BIN: join(root, 'dist', 'bundle', 'p2pbackup.js') }
});
process.exit(r.status ?? 1);
