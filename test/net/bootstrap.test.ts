// A node whose bootstrap peer is not up yet (or which later loses every connection) dials its bootstrap
// list again until it has a connection: it must not stay alone for good.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
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
  // Until the bootstrap peer is up, something else answers on its port: a TCP server that hangs up on
  // every connection, so each dial of the joiner is seen here, and fails.
  let attempts = 0;
  let onAttempt = () => {};
  const sockets = new Set<Socket>();
  const decoy = createServer((s) => {
    attempts++;
    sockets.add(s);
    s.once('close', () => {
      sockets.delete(s);
      onAttempt();
    });
    s.destroy();
  });
  await new Promise<void>((resolve) => decoy.listen(port, '127.0.0.1', resolve));
  const joiner = await makePeer({ bootstrap: [addr] });
  try {
    // Two dials that failed: the bootstrap module's first one, then at least one redial of our own.
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${attempts} dial(s) of the bootstrap address seen in 30 s, 2 expected`)), 30_000);
      onAttempt = () => {
        if (attempts >= 2) {
          clearTimeout(timer);
          resolve();
        }
      };
      onAttempt();
    });
    assert.equal(joiner.node.libp2p.getConnections().length, 0, 'the failed dials left the joiner alone');
    await new Promise<void>((resolve) => decoy.close(() => resolve()));
    boot = await makePeer({ listen }, home);
    await until(
      'the joiner to reach the late bootstrap peer',
      () => joiner.node.libp2p.getPeers().some((p) => p.toString() === boot.node.peerId.toString()),
      20_000
    );
    // Lost again (the bootstrap peer restarts and knows nothing of the joiner): the joiner comes back by itself.
    await boot.stop();
    await until('the connection to drop', () => joiner.node.libp2p.getConnections().length === 0, 20_000);
    boot = await makePeer({ listen }, home);
    await until('the joiner to reconnect', () => joiner.node.libp2p.getPeers().some((p) => p.toString() === boot.node.peerId.toString()), 20_000);
  } finally {
    decoy.close();
    await joiner.stop();
    await boot.stop().catch(() => {});
    await removeHome(joiner);
    await removeHome(boot);
  }
});
