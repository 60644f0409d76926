// `p2pbackup swarm`: Ctrl-C stops every process it started (README "Try a whole swarm on one machine").
// A terminal's Ctrl-C sends SIGINT to the whole foreground process group (the command and the daemons
// it spawned); `kill -INT` reaches the command alone. Either way no daemon may outlive it.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BIN, exited, stopProcess, tempDir } from '../integration/helpers.ts';
import { homePaths } from '../../src/peer/home.ts';
import type { SwarmInfo } from '../../src/peer/swarm.ts';

const tmp = await tempDir('p2pb-swarm-cmd-');
after(() => tmp.cleanup());

/** A process that still runs (a zombie, waiting for its parent to reap it, has already exited). */
async function running(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  return stat !== null && stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
}

async function untilAllGone(pids: number[], ms: number): Promise<number[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const left = (await Promise.all(pids.map(async (p) => ((await running(p)) ? p : null)))).filter((p): p is number => p !== null);
    if (!left.length || Date.now() > deadline) return left;
    await new Promise((r) => setTimeout(r, 200));
  }
}

for (const how of ["the process group (a terminal's Ctrl-C)", 'the swarm command alone (kill -INT)'] as const) {
  test(`SIGINT to ${how} stops every process the swarm command started`, { timeout: 120_000 }, async () => {
    const home = join(tmp.dir, how.startsWith('the process group') ? 'group' : 'alone');
    const group = how.startsWith('the process group');
    const child = spawn(process.execPath, [BIN, '--home', home, '--json', 'swarm', '--peers', '2'], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
    const done = exited(child);
    let pids: number[] = [];
    try {
      // Ready: it prints the swarm (every pid), as `swarm.json` in the home lists it.
      const info = await new Promise<SwarmInfo>((resolve, reject) => {
        let out = '';
        child.stdout!.setEncoding('utf8').on('data', (d: string) => {
          out += d;
          if (out.includes('\n')) resolve(JSON.parse(out.slice(0, out.indexOf('\n'))));
        });
        void done.then((e) => reject(new Error(`the swarm command exited before it was ready: ${JSON.stringify(e)}`)));
      });
      const listed = JSON.parse(await readFile(homePaths(home).swarmInfo, 'utf8')) as SwarmInfo;
      pids = [listed.client.pid, ...listed.peers.map((p) => p.pid)];
      assert.deepEqual(pids, [info.client.pid, ...info.peers.map((p) => p.pid)]);
      assert.equal(pids.length, 3);
      for (const pid of pids) assert.ok(await running(pid), `daemon ${pid} runs`);

      if (group) process.kill(-child.pid!, 'SIGINT');
      else child.kill('SIGINT');
      assert.deepEqual(await done, { code: 0, signal: null }, 'the swarm command ends cleanly');
      assert.deepEqual(await untilAllGone(pids, 20_000), [], 'no daemon outlives the command');
      await assert.rejects(access(homePaths(home).swarmInfo), 'swarm.json is removed');
      for (const h of [info.client.home, ...info.peers.map((p) => p.home)])
        await assert.rejects(access(homePaths(h).daemon), `${h}: a clean stop removed daemon.json`);
    } finally {
      if (child.exitCode === null && child.signalCode === null) await stopProcess(child, { group: true, graceMs: 5_000 });
      // A failed run may leave daemons behind: they are ours to end.
      for (const pid of await untilAllGone(pids, 0)) process.kill(pid, 'SIGKILL');
    }
  });
}
