// Shared fixtures for tests that run real daemons: temp dirs, a swarm of processes, the API client.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ApiClient } from '../../src/api/client.ts';
import { homePaths } from '../../src/peer/home.ts';

export const BIN = fileURLToPath(new URL('../../src/cli/bin.ts', import.meta.url));

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
