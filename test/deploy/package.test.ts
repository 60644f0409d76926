// The npm package as a user gets it: `npm pack` in this checkout, the tarball's file list against the
// `files` list, a global install of that tarball into a temporary prefix with npm's default script policy
// (from the local npm cache when it has the dependencies, else the registry as configured), then the
// installed `p2pbackup`: --version, the one-line refusal on an older Node, `demo` (a local swarm backs up and
// restores a folder), `bench` refused with a named error, and the library imported from the installed copy,
// with its types. The pack skips scripts: `npm test` has just built dist/, the kernels and the web UI (the
// same build `prepack` runs; checked below that the package carries all of it and nothing stale).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync, symlinkSync, mkdirSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  version: string;
  files: string[];
  bin: Record<string, string>;
  scripts: Record<string, string>;
};
const work = mkdtempSync(join(tmpdir(), 'p2pb-package-'));
const prefix = join(work, 'prefix');
const installed = join(prefix, 'lib', 'node_modules', 'p2pbackup');
const nodeDir = dirname(process.execPath);
// Under `npm test` the environment carries npm's own variables for this project (prefix, package fields,
// lifecycle): the child npm must not inherit them, or it would install into this checkout.
const env: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !k.startsWith('npm_') || ['npm_config_cache', 'npm_config_registry', 'npm_config_userconfig'].includes(k))
);
// This Node 22 first on PATH, for npm itself and for the installed command's `#!/usr/bin/env node`.
env.PATH = `${nodeDir}${delimiter}${process.env.PATH ?? ''}`;

function npm(args: string[], opts: SpawnSyncOptions = {}) {
  const cli = process.env.npm_execpath;
  const [cmd, argv] = cli && cli.endsWith('.js') ? [process.execPath, [cli, ...args]] : ['npm', args];
  const r = spawnSync(cmd, argv, { env, encoding: 'utf8', maxBuffer: 64 << 20, ...opts });
  assert.equal(r.status, 0, `npm ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r as { stdout: string; stderr: string };
}

/** The installed command run through its bin link and shebang, as a shell would. */
function p2pbackup(args: string[], opts: SpawnSyncOptions = {}) {
  return spawnSync(join(prefix, 'bin', 'p2pbackup'), args, { env, encoding: 'utf8', timeout: 150_000, ...opts }) as ReturnType<typeof spawnSync> & {
    stdout: string;
    stderr: string;
  };
}

let files: { path: string; mode: number }[] = [];
let tarball = '';

before(() => {
  const out = npm(['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: root });
  const [info] = JSON.parse(out.stdout) as { filename: string; files: { path: string; mode: number }[] }[];
  files = info.files;
  tarball = join(work, info.filename);
  npm(['install', '--global', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', tarball], { cwd: work });
});

after(() => rmSync(work, { recursive: true, force: true }));

test('the tarball holds exactly what runs: the files list, built dist/ with types, kernels, web UI; no sources, tests or benches', () => {
  assert.equal(pkg.scripts.prepack, 'node scripts/build.ts', 'the package is built when packed, never at the consumer');
  const paths = files.map((f) => f.path);
  const listed = (p: string) => p === 'package.json' || pkg.files.some((f) => (f.endsWith('/') ? p.startsWith(f) : p === f));
  assert.deepEqual(
    paths.filter((p) => !listed(p)),
    [],
    'every file is named by package.json "files"'
  );
  for (const p of paths) assert.doesNotMatch(p, /^(src|test|bench|scripts|wasm|web)\/|\.tmp\.ts$|^\.scratch|\.test\.|tsconfig/, p);
  for (const p of [
    'LICENSE',
    'README.md',
    'bin/p2pbackup.js',
    'dist/index.js',
    'dist/index.d.ts',
    'dist/cli/bin.js',
    'dist/bundle/p2pbackup.js',
    'build/web/index.html',
    'build/web/main.js',
    'build/web/style.css',
    'build/wasm/gear.wasm',
    'build/wasm/rs-simd.wasm',
    'build/wasm/rs-relaxed.wasm',
    'build/wasm/rs-simd-shared.wasm',
    'build/wasm/rs-relaxed-shared.wasm',
    'deploy/entrypoint.sh',
    'docs/FORMAT.md'
  ])
    assert.ok(paths.includes(p), `${p} is in the package`);
  // dist/ is one whole build of src/: every module compiled with its declarations, none left from a removed one,
  // and the bundled command (dist/bundle/: its entry and the chunks it loads lazily, all of this build's).
  const sources = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []
    );
  const expected = sources(join(root, 'src'))
    .map((f) => relative(join(root, 'src'), f).replace(/\.ts$/, ''))
    .flatMap((m) => [`dist/${m}.js`, `dist/${m}.d.ts`])
    .concat(readdirSync(join(root, 'dist', 'bundle')).map((f) => `dist/bundle/${f}`))
    .sort();
  assert.deepEqual(paths.filter((p) => p.startsWith('dist/')).sort(), expected);
  const mode = (p: string) => files.find((f) => f.path === p)!.mode;
  assert.ok(mode('bin/p2pbackup.js') & 0o100, 'the bin is executable');
  assert.ok(mode('deploy/entrypoint.sh') & 0o100, 'the container entrypoint is executable');
});

test('the Dockerfile installs the same tarball and starts the entrypoint the package carries', () => {
  const docker = readFileSync(join(root, 'Dockerfile'), 'utf8');
  assert.match(docker, /npm pack/);
  assert.match(docker, /npm install -g \/tmp\/p2pbackup\.tgz/);
  const entry = /^ENTRYPOINT \["([^"]+)"\]/m.exec(docker)?.[1];
  assert.ok(entry?.startsWith('/usr/local/lib/node_modules/p2pbackup/'), `entrypoint ${entry}`);
  const inPackage = entry!.slice('/usr/local/lib/node_modules/p2pbackup/'.length);
  assert.ok(files.some((f) => f.path === inPackage));
  assert.ok(existsSync(join(installed, inPackage)), 'and the installed package has it');
});

test('the installed command prints its version, runs the demo, and refuses what the package does not carry', () => {
  const version = p2pbackup(['--version']);
  assert.equal(version.status, 0, version.stderr);
  assert.equal(version.stdout.trim(), pkg.version);

  const home = join(work, 'home');
  const init = p2pbackup(['--home', home, 'init', '--no-mdns']);
  assert.equal(init.status, 0, init.stderr);
  assert.ok(existsSync(join(home, 'config.json')), 'init made a home');
  const status = p2pbackup(['--home', home, 'status']);
  assert.equal(status.status, 3, 'no daemon runs for that home: its named exit code');

  // A local swarm on loopback from the installed copy: each peer is an installed `daemon` process.
  const demo = p2pbackup(['demo'], { cwd: work });
  const demoDir = /Everything lives under (\S+) /.exec(demo.stdout)?.[1];
  if (demoDir) rmSync(demoDir, { recursive: true, force: true });
  assert.equal(demo.status, 0, `demo: ${demo.stdout}\n${demo.stderr}`);
  assert.match(demo.stdout, /verified: \d+ entries identical/);

  const bench = p2pbackup(['bench', 'coding']);
  assert.equal(bench.status, 1, bench.stderr);
  assert.match(bench.stderr, /benchmarks run from a clone of the repository/);
  assert.equal(bench.stderr.trim().split('\n').length, 1, 'one line, no stack trace');
});

test('on a Node older than 22 the command says so in one line', (t) => {
  // Any older node on this machine (Debian's, here Node 20); the check itself is plain JavaScript.
  const old = ['/usr/bin/node', '/usr/local/bin/node'].find((p) => {
    if (!existsSync(p)) return false;
    const v = spawnSync(p, ['-p', 'process.versions.node'], { encoding: 'utf8' }).stdout?.trim();
    return !!v && Number(v.split('.')[0]) < 22;
  });
  if (!old) return t.skip('no Node older than 22 on this machine');
  const r = spawnSync(old, [join(prefix, 'bin', 'p2pbackup'), '--version'], { env, encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^p2pbackup: Node\.js 22 or newer is needed \(this is Node\.js \d+\.\d+\.\d+: [^\n]+\)\n$/);
});

test('the library imports from the installed package, with its types', () => {
  const consumer = join(work, 'consumer');
  mkdirSync(join(consumer, 'node_modules'), { recursive: true });
  symlinkSync(installed, join(consumer, 'node_modules', 'p2pbackup'), 'dir');
  writeFileSync(join(consumer, 'package.json'), '{"type":"module"}');
  const source = [
    "import { createCodec, type Codec } from 'p2pbackup';",
    'const codec: Codec = createCodec({ dataShards: 3, parityShards: 2 });',
    'const data = [0, 1, 2].map((i) => new Uint8Array(64).fill(i + 1));',
    'const parity = codec.encode(data);',
    'const back = codec.reconstructData([null, data[1], null, parity[0], parity[1]]);',
    'codec.close();',
    'console.log(JSON.stringify(back.map((s) => s[0])));',
    '// @ts-expect-error: the declarations are real types, not any',
    "createCodec({ dataShards: 'three', parityShards: 2 });",
    ''
  ].join('\n');
  writeFileSync(join(consumer, 'main.ts'), source);
  const run = spawnSync(process.execPath, ['main.ts'], { cwd: consumer, env, encoding: 'utf8' });
  // The last line throws (a wrong k at run time); everything before it printed the reconstruction.
  assert.equal(run.stdout.trim(), '[1,2,3]', run.stderr);
  assert.match(run.stderr, /InvalidParametersError|dataShards/);
  writeFileSync(
    join(consumer, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        target: 'ES2023',
        strict: true,
        noEmit: true,
        allowImportingTsExtensions: true,
        skipLibCheck: false,
        types: ['node'],
        typeRoots: [join(root, 'node_modules', '@types')]
      },
      files: ['main.ts']
    })
  );
  const tsc = spawnSync(join(root, 'node_modules', '.bin', 'tsc'), ['-p', consumer], { env, encoding: 'utf8' });
  assert.equal(tsc.status, 0, `tsc on a consumer of the installed package: ${tsc.stdout}${tsc.stderr}`);
});
