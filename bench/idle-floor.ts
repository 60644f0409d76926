// The floor of the idle bench (bench/idle.ts), one process: the net layer's libp2p node alone (createNode: TCP,
// Noise, Yamux, identify, ping, Kad-DHT; no store, no API, no peer, no reachability checks), importing nothing
// else, so its memory is the stack's and not the bench's. Prints {"addr": ...} once listening; stops on SIGTERM.
//   node bench/idle-floor.ts [BOOTSTRAP_MULTIADDR...]
import { createNode } from '../src/net/index.ts';

const node = await createNode({ listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, reachability: false, bootstrap: process.argv.slice(2) });
process.stdout.write(JSON.stringify({ addr: node.multiaddrs()[0].toString() }) + '\n');
await new Promise<void>((res) => process.once('SIGTERM', () => res()));
await node.stop();
