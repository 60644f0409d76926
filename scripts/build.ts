// Build: compile the AssemblyScript Reed-Solomon kernel (two SIMD variants) and the TypeScript sources.
// Runs from `npm ci` (the `prepare` script) so a fresh clone is ready to use. `--wasm-only` skips tsc.
import { execFileSync } from 'node:child_process';
import { mkdirSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name: string) => join(root, 'node_modules', '.bin', name);
const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { cwd: root, stdio: 'inherit' });

mkdirSync(join(root, 'build', 'wasm'), { recursive: true });
const kernel = join(root, 'wasm', 'rs.ts');
if (existsSync(kernel)) {
  const common = ['--runtime', 'stub', '--noAssert', '-O3', '--converge', '--initialMemory', '1', '--exportStart', '_initialize'];
  // Two variants of one source: the compile-time ASC_FEATURE_RELAXED_SIMD picks i8x16.relaxed_swizzle; the loader chooses by WebAssembly.validate.
  run(bin('asc'), [kernel, ...common, '--enable', 'simd', '-o', 'build/wasm/rs-simd.wasm']);
  run(bin('asc'), [kernel, ...common, '--enable', 'simd', '--enable', 'relaxed-simd', '-o', 'build/wasm/rs-relaxed.wasm']);
}
if (!process.argv.includes('--wasm-only')) run(bin('tsc'), ['-p', 'tsconfig.json']);
