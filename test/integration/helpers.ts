// Shared fixtures for tests that run real daemons: temp dirs, a swarm of processes, the API client.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { CLI_BIN } from '../../src/peer/swarm.ts';
import { ApiClient } from '../../src/api/client.ts';
import { homePaths } from '../../src/peer/home.ts';

/** The CLI the tests run: the sources, or the build's bundled CLI under `npm test` (P2PBACKUP_BIN, src/peer/swarm.ts). */
export const BIN = CLI_BIN;

export async function tempDir(prefix = 'p2pb-test-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export function apiFor(home: string, apiUrl: string): Promise<ApiClient> {
  return ApiClient.at(apiUrl, homePaths(home));
}

/** Run the CLI as a user would; resolves with exit code, stdout and stderr. */
export function cli(args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.stdin.end(opts.input ?? '');
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

/** How a process ended. */
export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Resolves when `child` has exited (at once if it already has). */
export function exited(child: ChildProcess): Promise<ExitStatus> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

// A daemon's clean stop closes the API, ends streams and closes LevelDB: seconds on a loaded machine.
// Past this, a test would hang on a stuck process instead of failing, so the process is killed.
export const STOP_GRACE_MS = 15_000;

/**
 * Stop a process: `signal` (SIGTERM), then SIGKILL if it is still running after `graceMs`; resolves
 * with how it ended, so a caller can assert a clean exit (a SIGKILLed process has signal 'SIGKILL').
 * `group`: the child was spawned `detached` (its own process group) and runs others, as a shell script
 * does; the signal goes to the child alone (the script forwards it), the SIGKILL to the whole group.
 */
export async function stopProcess(child: ChildProcess, o: { signal?: NodeJS.Signals; graceMs?: number; group?: boolean } = {}): Promise<ExitStatus> {
  const done = exited(child);
  if (child.exitCode !== null || child.signalCode !== null) return done;
  child.kill(o.signal ?? 'SIGTERM');
  const kill = () => {
    if (!o.group || child.pid === undefined) return void child.kill('SIGKILL');
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      /* the group is gone */
    }
  };
  const timer = setTimeout(kill, o.graceMs ?? STOP_GRACE_MS);
  try {
    return await done;
  } finally {
    clearTimeout(timer);
  }
}
