// Fixtures for the end-to-end folder tests: "devices" (a home initialized with `init` and a daemon of
// its own) joined to a swarm of storage peers, CLI calls that must succeed, polling with a deadline.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawnDaemon, type Swarm } from '../../src/peer/swarm.ts';
import { BIN, apiFor, cli } from '../integration/helpers.ts';
import { homePaths } from '../../src/peer/home.ts';
import { freePort } from '../../src/peer/swarm.ts';

export { freePort };

export type CliResult = { code: number; stdout: string; stderr: string };

/** Every address of every storage peer of the swarm (what a device bootstraps from). */
export const swarmAddrs = (swarm: Swarm) => swarm.info.peers.flatMap((p) => p.addresses);

/** The last JSON line of a command's stdout (commands with --json may print status lines first). */
export function lastJson(r: CliResult): any {
  const lines = r.stdout.trim().split('\n').filter(Boolean);
  assert.ok(lines.length, `no output on stdout; stderr: ${r.stderr}`);
  return JSON.parse(lines.at(-1)!);
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class Device {
  readonly home: string;
  peerId = '';
  recoveryCap = '';
  child: ChildProcess | null = null;
  apiUrl = '';
  private exited: Promise<Exit> | null = null;

  constructor(home: string) {
    this.home = home;
  }

  /** `init --listen <loopback port> --no-mdns --offer 0 --bootstrap <swarm>`: a device stores no one's shares. */
  async init(swarm: Swarm): Promise<this> {
    const r = await this.cli([
      '--json',
      'init',
      '--listen',
      `/ip4/127.0.0.1/tcp/${await freePort()}`,
      '--no-mdns',
      '--offer',
      '0',
      '--bootstrap',
      ...swarmAddrs(swarm)
    ]);
    assert.equal(r.code, 0, r.stderr);
    const j = lastJson(r);
    this.peerId = j.peerId;
    this.recoveryCap = j.recoveryCap;
    return this;
  }

  async start(env: NodeJS.ProcessEnv = {}): Promise<this> {
    assert.equal(this.child, null, 'daemon already running');
    const { child, member } = await spawnDaemon(this.home, [], env);
    this.child = child;
    this.apiUrl = member.apiUrl;
    this.exited = new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve({ code: child.exitCode, signal: child.signalCode });
      else child.once('exit', (code, signal) => resolve({ code, signal }));
    });
    return this;
  }

  /**
   * Run the daemon expecting it to die by itself (a fault point), possibly before it is ready to serve:
   * resolves with how it exited. Killed (and the test failed) after `timeoutMs`.
   */
  async runUntilDeath(env: NodeJS.ProcessEnv, timeoutMs: number): Promise<Exit> {
    assert.equal(this.child, null, 'daemon already running');
    const paths = homePaths(this.home);
    await rm(paths.daemon, { force: true });
    const log = openSync(paths.log, 'a');
    const child = spawn(process.execPath, [BIN, '--home', this.home, 'daemon'], { stdio: ['ignore', log, log], env: { ...process.env, ...env } });
    closeSync(log);
    const exit = new Promise<Exit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const started = Date.now();
    const r = await exit;
    clearTimeout(timer);
    assert.ok(Date.now() - started < timeoutMs, `the daemon did not die by itself within ${timeoutMs} ms (${JSON.stringify(env)})`);
    return r;
  }

  /** Resolves when the daemon exits by itself (a fault point); fails after `timeoutMs`. */
  async died(timeoutMs: number): Promise<Exit> {
    assert.ok(this.exited, 'daemon not started');
    const timeout = sleep(timeoutMs).then(() => null);
    const r = await Promise.race([this.exited, timeout]);
    assert.ok(r, `daemon of ${this.home} did not exit within ${timeoutMs} ms`);
    this.child = null;
    this.exited = null;
    return r;
  }

  /** Stop the daemon (SIGTERM, SIGKILL after 15 s) and wait for it. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<Exit | null> {
    const child = this.child;
    if (!child) return null;
    const exited = this.exited!;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    const r = await exited;
    clearTimeout(timer);
    this.child = null;
    this.exited = null;
    return r;
  }

  cli(args: string[], env?: NodeJS.ProcessEnv): Promise<CliResult> {
    return cli(['--home', this.home, ...args], { env });
  }

  /** Run a command with --json; it must exit 0; its last JSON line. */
  async json(args: string[]): Promise<any> {
    const r = await this.cli(['--json', ...args]);
    assert.equal(r.code, 0, `p2pbackup ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
    return lastJson(r);
  }

  async snapshots(rootCapOrDir: string): Promise<{ cap: string; time: number }[]> {
    return (await this.json(['snapshots', rootCapOrDir])).snapshots;
  }

  async folders(): Promise<any[]> {
    return (await this.json(['watch', 'list'])).folders;
  }

  /** The daemon's API directly: for polling, cheaper than a CLI process each time. */
  async api<T = any>(method: string, path: string): Promise<T> {
    return (await apiFor(this.home, this.apiUrl)).json<T>(method, path);
  }
}

/** Poll `f` until it returns a truthy value; fail with the last value seen after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  f: () => Promise<T | null | undefined | false>,
  o: { timeoutMs?: number; intervalMs?: number } = {}
): Promise<T> {
  const deadline = Date.now() + (o.timeoutMs ?? 30_000);
  let last: unknown;
  for (;;) {
    try {
      const v = await f();
      if (v) return v;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
    await sleep(o.intervalMs ?? 500);
  }
}
