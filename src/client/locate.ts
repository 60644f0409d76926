// Who holds shares of a storage index: LIST on the DHT-closest peers (where uploads put them), in the
// order they answer (the fastest first); provider records are asked only when those hold fewer than
// `enough` distinct shares, because a DHT query per file dominated the cost of many small files; every
// known peer last.
// Shared by download, check, verify, repair and audit.
import type { ShareSource } from '../format/index.ts';
import { deadline } from './util.ts';
import type { ServerFinder, ShareServer } from './types.ts';

const LIST_TIMEOUT_MS = 5_000; // a holder that has not listed its shares by then counts as unreachable

export interface Located {
  si: Uint8Array;
  servers: Map<string, ShareServer>;
  /** Every listed (peer, share) pair. */
  pairs: { peer: string; shareNum: number; size: number }[];
  /** Candidates in DHT order (including peers that hold nothing). */
  candidates: ShareServer[];
  unreachable: string[];
}

export async function locate(si: Uint8Array, finder: ServerFinder, n: number, signal?: AbortSignal, enough = n): Promise<Located> {
  const servers = new Map<string, ShareServer>();
  const pairs: Located['pairs'] = [];
  const unreachable: string[] = [];
  const ask = (list: ShareServer[]) =>
    Promise.all(
      list
        .filter((s) => !servers.has(s.id))
        .map(async (server) => {
          servers.set(server.id, server);
          try {
            for (const sh of await server.list(si, { signal: deadline(signal, LIST_TIMEOUT_MS) })) {
              if (Number.isInteger(sh.shareNum) && sh.shareNum >= 0 && sh.shareNum < n) pairs.push({ peer: server.id, shareNum: sh.shareNum, size: sh.size });
            }
          } catch {
            signal?.throwIfAborted();
            unreachable.push(server.id);
          }
        })
    );
  await ask(await finder.candidates(si, 2 * n, { signal }));
  const short = () => new Set(pairs.map((p) => p.shareNum)).size < enough;
  if (short() && finder.providers) await ask(await finder.providers(si, { signal }).catch(() => []));
  // Holders among the closest peers do not announce (src/net/node.ts shouldAnnounce); if the swarm has
  // grown since they took their shares, they are found here, by asking every peer we know.
  if (short() && finder.known) await ask(await finder.known(si, { signal }).catch(() => []));
  return { si, servers, pairs, candidates: [...servers.values()], unreachable };
}

export function sourceOf(loc: Located, peer: string, shareNum: number, size: number, signal?: AbortSignal): ShareSource {
  const server = loc.servers.get(peer)!;
  return {
    shareNum,
    size,
    async read(offset, length, sig) {
      const [bytes] = await server.read(loc.si, shareNum, [[offset, length]], { signal: sig ?? signal });
      return bytes;
    }
  };
}
