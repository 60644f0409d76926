// Reachability: dial a peer by multiaddr and ping it (POST /api/ping, `p2pbackup ping`), saying whether the
// connection goes through a relay (relayed connections carry control traffic only).
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr';
import { BadRequestError, PeerUnreachableError } from '../common/errors.ts';
import type { P2PNode } from '../net/index.ts';

const PING_TIMEOUT_MS = 15_000; // dial plus one round trip, relays included

export async function ping(node: Pick<P2PNode, 'libp2p'>, address: string): Promise<{ ms: number; relayed: boolean; remoteAddr: string }> {
  let ma: Multiaddr;
  try {
    ma = multiaddr(address);
  } catch (err) {
    throw new BadRequestError(`not a multiaddr: ${address} (${(err as Error).message})`, { address });
  }
  const signal = AbortSignal.timeout(PING_TIMEOUT_MS);
  try {
    const conn = await node.libp2p.dial(ma, { signal });
    const ms = await node.libp2p.services.ping.ping(ma, { signal });
    return { ms, relayed: conn.limits != null || conn.remoteAddr.toString().includes('/p2p-circuit'), remoteAddr: conn.remoteAddr.toString() };
  } catch (err) {
    throw new PeerUnreachableError(address, err);
  }
}
