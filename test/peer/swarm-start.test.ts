// startSwarm starts the first storage peer, then the others a few at a time (SWARM_START_CONCURRENCY), then the
// client. A peer that cannot start fails the whole start, and only once every start under way has settled: no
// daemon of the swarm is left running.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { access, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startSwarm } from '../../src/peer/swarm.ts';
import { homePaths } from '../../src/peer/home.ts';
import { tempDir } from '../integration/helpers.ts';

/** Pids of processes whose command line names `dir`. */
async function processesUnder(dir: string): Promise<number[]> {
  const out: number[] = [];
  for (const p of await readdir('/proc')) {
    if (!/^\d+$/.test(p) || Number(p) === process.pid) continue;
    const cmd = await readFile(`/proc/${p}/cmdline`, 'utf8').catch(() => '');
    if (cmd.includes(dir)) out.push(Number(p));
  }
  return out;
}

test('a storage peer that cannot start fails the swarm, after the starts under way, and leaves no daemon running', { timeout: 120_000 }, async () => {
  const tmp = await tempDir();
  try {
    // peer-2's home holds a config that is not JSON: its daemon exits at once.
    const broken = join(homePaths(tmp.dir).swarmPeers, 'peer-2');
    await mkdir(broken, { recursive: true });
    await writeFile(homePaths(broken).config, '{ not json');
    await assert.rejects(startSwarm({ dir: tmp.dir, peers: 5 }), (err: any) => err.code === 'ERR_DAEMON_START' && err.message.includes('peer-2'));
    // Every other peer was started (their logs exist) and stopped again.
    for (const i of [0, 1, 3, 4]) await access(homePaths(join(homePaths(tmp.dir).swarmPeers, `peer-${i}`)).log);
    assert.deepEqual(await processesUnder(tmp.dir), [], 'no daemon of the swarm is left');
    // The swarm starts once the broken home is mended, with every peer and the client up.
    await rm(broken, { recursive: true, force: true });
    const swarm = await startSwarm({ dir: tmp.dir, peers: 5 });
    try {
      assert.equal(swarm.info.peers.length, 5);
      assert.equal(new Set(swarm.info.peers.map((p) => p.peerId)).size, 5);
      assert.ok(swarm.info.client.apiUrl);
    } finally {
      await swarm.stop();
    }
    assert.deepEqual(await processesUnder(tmp.dir), []);
  } finally {
    await tmp.cleanup();
  }
});
