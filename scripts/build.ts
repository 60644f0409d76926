// Build: compile the AssemblyScript Reed-Solomon kernel (two SIMD variants), the chunker's gear kernel and the TypeScript sources.
// and the web UI (esbuild bundles web/src/main.ts into build/web/ with its HTML and CSS; no CDN, no
// framework). Runs from `npm ci` (the `prepare` script) so a fresh clone is ready to use, and from `npm pack`
// (`prepack`: the tarball carries the built files, its consumers never build; `prepare`, which npm also runs
// when packing, then has nothing left to do). A full build starts from an empty dist/, so no module removed
// from src/ lingers in the package.
// `--wasm-only` skips tsc (npm test type-checks instead); `--web-only` builds only the web UI.
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name: string) => join(root, 'node_modules', '.bin', name);
const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { cwd: root, stdio: 'inherit' });
const execFileAsync = promisify(execFile);

const webOnly = process.argv.includes('--web-only');
if (process.env.npm_lifecycle_event === 'prepare' && ['pack', 'publish'].includes(process.env.npm_command ?? '')) {
  console.log('build: done by prepack');
  process.exit(0);
}
mkdirSync(join(root, 'build', 'wasm'), { recursive: true });
// The kernels: each one asc compile (about 3 s), skipped when its output exists and was made from the same source,
// arguments and compiler (build/wasm-keys.json): `npm test` builds again right after `npm ci` has. The compiles run
// side by side, one per core.
const wasmJobs: { out: string; args: string[] }[] = [];
const kernel = join(root, 'wasm', 'rs.ts');
if (existsSync(kernel) && !webOnly) {
  const common = ['--runtime', 'stub', '--noAssert', '-O3', '--converge', '--initialMemory', '1', '--exportStart', '_initialize'];
  // Two variants of one source: the compile-time ASC_FEATURE_RELAXED_SIMD picks i8x16.relaxed_swizzle; the loader chooses by WebAssembly.validate.
  // Each also as `-shared`: imports a shared memory (4 GiB maximum, assumed zeroed) for the multi-core codec's worker threads.
  const shared = ['--importMemory', '--sharedMemory', '--maximumMemory', '65536', '--zeroFilledMemory', '--enable', 'threads'];
  for (const [variant, features] of [
    ['simd', ['--enable', 'simd']],
    ['relaxed', ['--enable', 'simd', '--enable', 'relaxed-simd']]
  ] as const) {
    wasmJobs.push({ out: `build/wasm/rs-${variant}.wasm`, args: [kernel, ...common, ...features] });
    wasmJobs.push({ out: `build/wasm/rs-${variant}-shared.wasm`, args: [kernel, ...common, ...features, ...shared] });
  }
}
// The chunker's gear-hash scan (format v2): plain scalar code, no SIMD, no start function.
const gear = join(root, 'wasm', 'gear.ts');
if (existsSync(gear) && !webOnly) {
  wasmJobs.push({ out: 'build/wasm/gear.wasm', args: [gear, '--runtime', 'stub', '--noAssert', '-O3', '--converge', '--initialMemory', '1'] });
}
await compileKernels(wasmJobs);

async function compileKernels(jobs: { out: string; args: string[] }[]): Promise<void> {
  const keysFile = join(root, 'build', 'wasm-keys.json');
  let keys: Record<string, string> = {};
  try {
    keys = JSON.parse(readFileSync(keysFile, 'utf8'));
  } catch {}
  const asc = JSON.parse(readFileSync(join(root, 'node_modules', 'assemblyscript', 'package.json'), 'utf8')).version;
  const keyOf = (j: { args: string[] }) =>
    createHash('sha256')
      .update(JSON.stringify([asc, j.args.map((a) => (a.startsWith(root) ? relative(root, a) : a)), readFileSync(j.args[0], 'utf8')]))
      .digest('hex');
  const todo = jobs.filter((j) => keys[j.out] !== keyOf(j) || !existsSync(join(root, j.out)));
  if (jobs.length && !todo.length) console.log(`build: ${jobs.length} wasm kernels up to date`);
  const queue = [...todo];
  const worker = async () => {
    for (let j = queue.shift(); j; j = queue.shift()) {
      delete keys[j.out];
      await execFileAsync(bin('asc'), [...j.args, '-o', j.out], { cwd: root });
      keys[j.out] = keyOf(j);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(availableParallelism(), queue.length) }, worker));
  } finally {
    writeFileSync(keysFile, JSON.stringify(keys, null, 2) + '\n');
  }
}

// The web UI: one ES module bundle (a few KiB), served by the daemon at / (src/api/routes/ui.ts).
const web = join(root, 'build', 'web');
mkdirSync(web, { recursive: true });
const { build } = await import('esbuild');
await build({
  entryPoints: [join(root, 'web', 'src', 'main.ts')],
  outfile: join(web, 'main.js'),
  bundle: true,
  format: 'esm',
  target: 'es2022',
  platform: 'browser',
  minify: true,
  legalComments: 'none',
  logLevel: 'warning'
});
for (const f of ['index.html', 'style.css']) copyFileSync(join(root, 'web', f), join(web, f));
if (webOnly) console.log(`web UI: build/web/main.js ${statSync(join(web, 'main.js')).size} bytes`);

if (!process.argv.includes('--wasm-only') && !webOnly) {
  rmSync(join(root, 'dist'), { recursive: true, force: true });
  run(bin('tsc'), ['-p', 'tsconfig.json']);
  await bundleCli();
}

/**
 * dist/bundle/p2pbackup.js: the CLI bundled, with a chunk per lazily imported part (bin/p2pbackup.js runs commands
 * from it, the daemon from dist/'s modules: it says why). Loading Node's module graph file by file (libp2p, Fastify
 * and ours: hundreds of modules) cost a start about twice the CPU (`npm run bench -- startup`). Each of our modules
 * keeps its own `import.meta.url`: the plugin gives it the URL of its compiled twin in dist/, so files found next to
 * a module (the workers, the wasm kernels, the web UI, package.json) resolve exactly as they do from dist/, and no
 * module takes the bundle's URL for its own. Native addons stay outside.
 */
async function bundleCli(): Promise<void> {
  const { readFile } = await import('node:fs/promises');
  const src = join(root, 'src');
  await build({
    entryPoints: { p2pbackup: join(src, 'cli', 'bin.ts') },
    outdir: join(root, 'dist', 'bundle'),
    // The commands' lazy imports (the daemon, init, recover, ...) become chunks of their own, loaded when used.
    splitting: true,
    chunkNames: 'chunk-[hash]',
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node22',
    external: ['classic-level'],
    // Bundled CommonJS dependencies call require() for Node's built-ins.
    banner: { js: "import { createRequire as __p2pbCreateRequire } from 'node:module'; const require = __p2pbCreateRequire(import.meta.url);" },
    legalComments: 'none',
    logLevel: 'warning',
    plugins: [
      {
        name: 'module-urls',
        setup(b) {
          b.onLoad({ filter: /\.ts$/ }, async (args) => {
            if (!args.path.startsWith(src + sep)) return undefined; // a package's own file: esbuild's default
            const twin = '../' + relative(src, args.path).split('\\').join('/').replace(/\.ts$/, '.js');
            const contents = (await readFile(args.path, 'utf8')).replaceAll('import.meta.url', `new URL(${JSON.stringify(twin)}, import.meta.url).href`);
            return { contents, loader: 'ts' };
          });
        }
      }
    ]
  });
}
