// Yamux window updates once half a receive window is used, not after every data frame.
//
// @chainsafe/libp2p-yamux 8 sends a WINDOW_UPDATE frame after each DATA frame it takes in: for every frame the
// receiver encrypts a 12-byte frame (Noise: 28 bytes plus a 2-byte length, which @libp2p/tcp writes as two system
// calls) and the sender decrypts and parses it; its small grants also keep the sender's next frames small. Under
// strace, a 1 GiB restore made 11.6k such updates in the client (6.2k with this). Hashicorp's yamux (the
// reference) grants credit only once the consumed part reaches half the window; so does this. The sender keeps at
// least half a window to send while the update travels, and windows still grow as upstream grows them (doubled
// when half a window was taken within 4 round trips, up to maxStreamWindowSize).
//
// The package exposes no option for it, so `installYamuxWindowUpdates` replaces YamuxStream's sendWindowUpdate
// once per process (createNode calls it). It touches only the fields the upstream method uses, and installs only
// over a method that uses them all (a changed upstream keeps its own behaviour, and test/net/yamux-window.test.ts
// fails).
import { StreamState, YamuxStream } from '@chainsafe/libp2p-yamux/stream';

/** Yamux frame type of a window update (yamux spec: 0 data, 1 window update, 2 ping, 3 go away). */
const WINDOW_UPDATE = 1;

/** What sendWindowUpdate reads and writes of a YamuxStream (private fields upstream). */
export interface WindowState {
  state: StreamState;
  streamId: number;
  recvWindow: number;
  recvWindowCapacity: number;
  maxStreamWindowSize: number;
  epochStart: number;
  getRTT(): number;
  getSendFlags(): number;
  sendFrame(header: { type: number; flag: number; streamID: number; length: number }): boolean;
}

/** The replacement: grant the consumed credit once it reaches half the window (or a SYN/ACK must go out). */
export function sendWindowUpdate(this: WindowState, now = Date.now()): void {
  if (this.state === StreamState.Paused) {
    // Reading is paused: no credit until it resumes (sendResume calls this again), measured from then.
    this.epochStart = now;
    return;
  }
  const flags = this.getSendFlags();
  if (flags === 0 && this.recvWindow - this.recvWindowCapacity < this.recvWindow / 2) return;
  const rtt = this.getRTT();
  if (flags === 0 && rtt > -1 && now - this.epochStart <= rtt * 4) this.recvWindow = Math.min(this.recvWindow * 2, this.maxStreamWindowSize);
  const delta = this.recvWindow - this.recvWindowCapacity;
  this.recvWindowCapacity = this.recvWindow;
  this.epochStart = now;
  this.sendFrame({ type: WINDOW_UPDATE, flag: flags, streamID: this.streamId, length: delta });
}

/** The upstream fields the replacement relies on; each must appear in the method it replaces. */
const FIELDS = ['state', 'streamId', 'recvWindow', 'recvWindowCapacity', 'maxStreamWindowSize', 'epochStart', 'getRTT', 'getSendFlags', 'sendFrame'];

/**
 * Install the half-window update on YamuxStream's prototype (`target`: tests) (idempotent). Returns whether it is in
 * place; false when the upstream method no longer reads the fields this one is written against.
 */
export function installYamuxWindowUpdates(target: object = YamuxStream.prototype): boolean {
  const proto = target as { sendWindowUpdate: unknown };
  if (proto.sendWindowUpdate === sendWindowUpdate) return true;
  if (typeof proto.sendWindowUpdate !== 'function') return false;
  const upstream = String(proto.sendWindowUpdate);
  if (!FIELDS.every((f) => new RegExp(`this\\.${f}\\b`).test(upstream))) return false;
  proto.sendWindowUpdate = sendWindowUpdate;
  return true;
}
