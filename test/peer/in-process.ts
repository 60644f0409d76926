// Three peers in this process on loopback, for the folder-service tests that read the peers' stores and ledgers
// directly: A (the owner) and storage peers B and C, each with a home of its own under one temp dir, 1-of-2 coding
// with happy 2 (the folder head and the repository record need only B and C). Stopped and removed after the file.
import { after } from 'node:test';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPeer, type Peer } from '../../src/peer/peer.ts';
import { DEFAULT_CONFIG, type PeerConfig } from '../../src/peer/config.ts';

/** A temp dir for the test file and `trio()`: A, B and C started, A connected to both. `config`: more settings. */
export async function inProcessPeers(prefix: string, config: Partial<PeerConfig> = {}) {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const started: Peer[] = [];
  after(async () => {
    for (const p of started) await p.stop().catch(() => {});
    await rm(dir, { recursive: true, force: true });
  });
  const start = async (name: string, bootstrap: string[]): Promise<Peer> => {
    const home = join(dir, name);
    await mkdir(home);
    const peer = await createPeer({
      home,
      config: {
        ...DEFAULT_CONFIG,
        listen: ['/ip4/127.0.0.1/tcp/0'],
        mdns: false,
        bootstrap,
        offer: 64 * 2 ** 20,
        encoding: { k: 1, n: 2, happy: 2 },
        ...config
      }
    });
    started.push(peer);
    return peer;
  };
  const addr = (p: Peer) => p.addresses()[0] + '/p2p/' + p.peerId;
  return {
    dir,
    async trio(): Promise<[Peer, Peer, Peer]> {
      const A = await start('a', []);
      const B = await start('b', [addr(A)]);
      const C = await start('c', [addr(A), addr(B)]);
      for (let i = 0; i < 150 && A.node.libp2p.getPeers().length < 2; i++) await new Promise((r) => setTimeout(r, 100));
      return [A, B, C];
    }
  };
}
