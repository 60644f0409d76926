// Hedged reads: a holder that is slow or silent is abandoned for another share within a bounded time, so a
// download from k+1 honest holders and one that trickles its answers takes about as long as from honest ones.
// The decoder (src/format/decode.ts) reads k shares per segment and replaces a source whose read fails by
// another share; these sources make a read fail (SlowHolderError) once it has taken much longer than the
// holders that answered so far, but only while another share is there to take its place:
// 1. Every completed read teaches the download how fast its holders are: the quickest rate and the typical
//    small-read latency seen.
// 2. A read still running after max(HEDGE_MIN_MS, HEDGE_FACTOR x what those holders would take for its size)
//    is abandoned if the shares left, without this one, still number k or more; else it goes on (the stream's
//    own idle timeout still applies): a slow holder is better than no file.
// 3. An abandoned holder is slow for the rest of the download (its other shares are dropped the same way) and
//    reported to the finder (`demote`), which leaves it out of candidate lists for a while, so the next files
//    do not wait for it again.
import type { ShareSource } from '../format/index.ts';
import { P2PBackupError } from '../common/errors.ts';
import type { Located } from './locate.ts';
import type { ServerFinder } from './types.ts';

/** A read is never abandoned sooner (ms): below this, a loaded host's honest answer is not told from a slow one. */
export const HEDGE_MIN_MS = 2_000;
/** ... nor before it took this many times what the holders seen so far would need for it. */
export const HEDGE_FACTOR = 4;
/** How often running reads are compared with their deadline (ms). */
const HEDGE_TICK_MS = 100;
/** Reads below this many bytes measure latency; larger ones measure the rate. */
const SMALL_READ_BYTES = 64 * 1024;
/** Before any read completed: assume this rate (bytes per ms, 1 MiB/s) for the deadline. */
const ASSUMED_RATE = (1024 * 1024) / 1000;

/** A read was abandoned because its holder was much slower than the others (another share is used instead). */
export class SlowHolderError extends P2PBackupError {
  constructor(peer: string, shareNum: number, ms: number) {
    super('ERR_SLOW_HOLDER', `peer ${peer} took over ${ms} ms for a read of share ${shareNum}; another share is used`, { peer, shareNum, ms });
  }
}

export interface HedgeOptions {
  /** Shares needed (the cap's k). */
  k: number;
  finder?: Pick<ServerFinder, 'demote'>;
  signal?: AbortSignal;
  minMs?: number;
  factor?: number;
  /** Told about every holder abandoned (the download's report). */
  onAbandon?: (e: { peer: string; shareNum: number; ms: number }) => void;
}

/** Sources for every listed (peer, share) pair, reading through the pair's server with the hedging above. */
export function hedgedSources(loc: Located, o: HedgeOptions): ShareSource[] {
  const minMs = o.minMs ?? HEDGE_MIN_MS;
  const factor = o.factor ?? HEDGE_FACTOR;
  const pairs = loc.pairs;
  const dead = new Set<number>(); // indexes of pairs abandoned or failed
  const slow = new Set<string>();
  const latencies: number[] = [];
  let rate = 0; // best bytes/ms seen on a large read
  const expectedMs = (length: number) => {
    const lat = latencies.length ? [...latencies].sort((a, b) => a - b)[Math.floor(latencies.length / 2)] : 0;
    return lat + length / (rate || ASSUMED_RATE);
  };
  // Whether share `i` may be given up: k distinct shares remain among the pairs still alive.
  const spare = (i: number) => {
    const left = new Set<number>();
    pairs.forEach((p, j) => {
      if (j !== i && !dead.has(j)) left.add(p.shareNum);
    });
    return left.size >= o.k;
  };
  return pairs.map((p, i): ShareSource => {
    const server = loc.servers.get(p.peer)!;
    return {
      shareNum: p.shareNum,
      size: p.size,
      async read(offset, length, sig, into) {
        const signal = sig ?? o.signal;
        if (slow.has(p.peer) && spare(i)) {
          dead.add(i);
          throw new SlowHolderError(p.peer, p.shareNum, 0);
        }
        const ac = new AbortController();
        const onAbort = () => ac.abort(signal?.reason);
        signal?.addEventListener('abort', onAbort, { once: true });
        const started = Date.now();
        let timer: NodeJS.Timeout | undefined;
        const abandoned = new Promise<never>((_, reject) => {
          timer = setInterval(() => {
            const ms = Date.now() - started;
            if (ms < Math.max(minMs, factor * expectedMs(length)) || !spare(i)) return;
            dead.add(i);
            slow.add(p.peer);
            o.finder?.demote?.(p.peer);
            o.onAbandon?.({ peer: p.peer, shareNum: p.shareNum, ms });
            const err = new SlowHolderError(p.peer, p.shareNum, ms);
            ac.abort(err);
            reject(err);
          }, HEDGE_TICK_MS);
          timer.unref();
        });
        abandoned.catch(() => {});
        try {
          const [bytes] = await Promise.race([server.read(loc.si, p.shareNum, [[offset, length]], { signal: ac.signal, into }), abandoned]);
          const ms = Math.max(1, Date.now() - started);
          if (length < SMALL_READ_BYTES) {
            latencies.push(ms);
            if (latencies.length > 32) latencies.shift();
          } else rate = Math.max(rate, length / ms);
          return bytes;
        } catch (e) {
          if (!signal?.aborted) dead.add(i); // the decoder drops this source: it no longer counts as a spare
          throw e;
        } finally {
          clearInterval(timer);
          signal?.removeEventListener('abort', onAbort);
        }
      }
    };
  });
}
