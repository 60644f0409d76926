// A node whose bootstrap peer is not up yet (or which later loses every connection) dials its bootstrap
// list again until it has a connection: it must not stay alone for good.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { freePort } from '../../src/peer/swarm.ts';
import { makePeer, removeHome, type TestPeer } from './helpers.ts';

async function until(what: string, ok: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('a node redials its bootstrap peer that came up late, and after losing it', { timeout: 90_000 }, async () => {
  const port = await freePort();
  // The bootstrap peer's identity and address are known before it runs: start it once to learn its id.
  const listen = [`/ip4/127.0.0.1/tcp/${port}`];
  let boot: TestPeer = await makePeer({ listen });
  const home = boot.home;
  const addr = `/ip4/127.0.0.1/tcp/${port}/p2p/${boot.node.peerId.toString()}`;
  await boot.stop();
  const joiner = await makePeer({ bootstrap: [addr] });
  try {
    await new Promise((r) => setTimeout(r, 1500)); // the bootstrap module's one dial has failed by now
    assert.equal(joiner.node.libp2p.getConnections().length, 0);
    boot = await makePeer({ listen }, home);
    await until('the joiner to reach the late bootstrap peer', () => joiner.node.libp2p.getPeers().some((p) => p.toString() === boot.node.peerId.toString()), 20_000);
    // Lost again (the bootstrap peer restarts and knows nothing of the joiner): the joiner comes back by itself.
    await boot.stop();
    await until('the connection to drop', () => joiner.node.libp2p.getConnections().length === 0, 20_000);
    boot = await makePeer({ listen }, home);
    await until('the joiner to reconnect', () => joiner.node.libp2p.getPeers().some((p) => p.toString() === boot.node.peerId.toString()), 20_000);
  } finally {
    await joiner.stop();
    await boot.stop().catch(() => {});
    await removeHome(joiner);
    await removeHome(boot);
  }
});
