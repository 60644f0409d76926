// Helpers shared by every bench (bench/<name>.ts): flags, timing, median, a plain-text table and JSON output.
// A bench module exports `run(argv: string[]): Promise<void>` and is registered in bench/index.ts.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface BenchFlags {
  /** --json: print only a JSON array of result records on stdout. */
  readonly json: boolean;
  /** --quick: much shorter run (fewer/shorter samples), same shape of output. */
  readonly quick: boolean;
  /** Everything else, in order. */
  readonly rest: readonly string[];
}

export function parseFlags(argv: readonly string[]): BenchFlags {
  return {
    json: argv.includes('--json'),
    quick: argv.includes('--quick'),
    rest: argv.filter((a) => a !== '--json' && a !== '--quick')
  };
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** MB/s with MB = 1e6 bytes. */
export function mbps(bytes: number, ms: number): number {
  return bytes / 1e6 / (ms / 1000);
}

/** Call `op` repeatedly for at least `minMs`; returns { calls, ms }. `op` may be async. */
export async function timeFor(op: () => unknown, minMs: number): Promise<{ calls: number; ms: number }> {
  const t0 = performance.now();
  let calls = 0;
  let now = t0;
  do {
    const r = op();
    if (r instanceof Promise) await r;
    calls++;
    now = performance.now();
  } while (now - t0 < minMs);
  return { calls, ms: now - t0 };
}

/** Left-aligned first column(s) for text, right-aligned numbers. */
export function formatTable(headers: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const cells = [headers, ...rows.map((r) => r.map((c) => String(c)))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const isNum = headers.map((_, i) => rows.every((r) => typeof r[i] === 'number' || /^[\d.x-]+$/.test(String(r[i]))));
  const line = (r: readonly string[]) =>
    r
      .map((c, i) => (isNum[i] ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(cells[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

/** --json output: exactly one JSON array on stdout. */
export function printJson(records: readonly object[]): void {
  process.stdout.write(JSON.stringify(records, null, 2) + '\n');
}

/** Progress/info lines go to stderr so stdout stays clean for --json. */
export function note(msg: string): void {
  process.stderr.write(msg + '\n');
}

export function formatBytes(n: number): string {
  // Division, not shifts: `>>` works on 32 bits, and 8 GiB >> 20 is 0.
  if (n % 2 ** 20 === 0) return `${n / 2 ** 20} MiB`;
  if (n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} B`;
}

function newestMtime(dir: string): number {
  return readdirSync(dir, { withFileTypes: true }).reduce((m, e) => {
    const p = join(dir, e.name);
    return Math.max(m, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }, 0);
}

/** Whether dist/ holds a build (its bundle written last) at least as new as every file of src/. */
export function buildIsCurrent(): boolean {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const built = join(root, 'dist', 'bundle', 'p2pbackup.js');
  return existsSync(built) && existsSync(join(root, 'dist', 'cli', 'bin.js')) && statSync(built).mtimeMs >= newestMtime(join(root, 'src'));
}

/**
 * The command as users run it: bin/p2pbackup.js, on the build in dist/ (built by `npm ci`), built again first if
 * src/ is newer. bench/index.ts points P2PBACKUP_BIN at it for every bench that starts daemons, so they measure the
 * program users run, not the sources.
 */
export function installedCommand(bench: string): string {
  const root = fileURLToPath(new URL('..', import.meta.url));
  if (!buildIsCurrent()) {
    note(`${bench}: dist/ is older than src/: building it (scripts/build.ts)`);
    execFileSync(process.execPath, [join(root, 'scripts', 'build.ts')], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  }
  return join(root, 'bin', 'p2pbackup.js');
}

/** Run `node SCRIPT ARGS` (its stderr passed through) and parse the last line it prints as JSON: a bench step
 *  measured in its own process, so the caller's CPU is not counted. `what` names it in the error if it fails. */
export async function runJsonChild<T>(script: string, args: readonly string[], what: string): Promise<T> {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d) => {
    out += d;
  });
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  if (code !== 0) throw new Error(`${what} exited with ${code}`);
  return JSON.parse(out.trim().split('\n').pop()!) as T;
}
