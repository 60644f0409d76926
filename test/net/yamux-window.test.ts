// Yamux window updates once half a receive window is used (src/net/yamux-window.ts): over two real nodes on
// loopback TCP, a stream that takes in 8 MiB in 16 KiB frames grants credit once per half window (upstream: once
// per frame, 512 times), the bytes arrive whole, and the replacement keeps upstream's SYN/ACK, pause and window-growth rules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, createHash } from 'node:crypto';
import { StreamState, YamuxStream } from '@chainsafe/libp2p-yamux/stream';
import { installYamuxWindowUpdates, sendWindowUpdate, type WindowState } from '../../src/net/yamux-window.ts';
import { makePeer, removeHome } from './helpers.ts';

const PROTOCOL = '/p2pbackup-test/window/1';
const BYTES = 8 * 1024 * 1024;
const PIECE = 16 * 1024;

test('a stream taking in 8 MiB in 16 KiB frames sends few window updates, and the bytes arrive whole', async () => {
  const [a, b] = [await makePeer(), await makePeer()];
  try {
    assert.equal(installYamuxWindowUpdates(), true, 'installed over the upstream method (createNode did it already)');
    assert.equal((YamuxStream.prototype as unknown as { sendWindowUpdate: unknown }).sendWindowUpdate, sendWindowUpdate);
    const data = randomBytes(BYTES);
    let updates = 0;
    let dataFrames = 0;
    const got = new Promise<{ digest: string; length: number }>((resolve, reject) => {
      void b.node.libp2p.handle(PROTOCOL, async (stream) => {
        try {
          const s = stream as unknown as { sendFrame(h: { type: number }): boolean; handleData: (f: unknown) => void };
          const send = s.sendFrame.bind(s);
          s.sendFrame = (h) => {
            if (h.type === 1) updates++;
            return send(h);
          };
          const take = s.handleData.bind(s);
          s.handleData = (f) => {
            dataFrames++;
            take(f);
          };
          const h = createHash('sha256');
          let length = 0;
          for await (const chunk of stream) {
            const c = chunk.subarray();
            h.update(c);
            length += c.length;
          }
          resolve({ digest: h.digest('hex'), length });
          await stream.close();
        } catch (e) {
          reject(e);
        }
      });
    });
    const stream = await a.node.libp2p.dialProtocol(b.node.multiaddrs()[0], PROTOCOL);
    // 16 KiB at a time, as a storage stream's small messages go: each its own data frame.
    for (let o = 0; o < BYTES; o += PIECE) {
      if (!stream.send(data.subarray(o, o + PIECE))) await stream.onDrain();
      await new Promise(setImmediate); // each piece leaves before the next is queued
    }
    await stream.close();
    const r = await got;
    assert.equal(r.length, BYTES);
    assert.equal(r.digest, createHash('sha256').update(data).digest('hex'));
    assert.ok(dataFrames >= 256, `the 8 MiB came in ${dataFrames} data frames`);
    assert.ok(updates >= 1 && updates <= dataFrames / 8, `${updates} window updates for ${dataFrames} data frames`);
  } finally {
    await a.stop();
    await b.stop();
    await removeHome(a);
    await removeHome(b);
  }
});

function stream(over: Partial<WindowState> = {}) {
  const sent: { flag: number; length: number }[] = [];
  const s: WindowState = {
    state: StreamState.Established,
    streamId: 7,
    recvWindow: 256 * 1024,
    recvWindowCapacity: 256 * 1024,
    maxStreamWindowSize: 16 * 1024 * 1024,
    epochStart: 0,
    getRTT: () => -1,
    getSendFlags: () => 0,
    sendFrame: (h) => (sent.push({ flag: h.flag, length: h.length }), true),
    ...over
  };
  return { s, sent };
}

test('credit goes out once half the window is used, all of it, and the window grows as upstream grows it', () => {
  const { s, sent } = stream();
  s.recvWindowCapacity -= 128 * 1024 - 1;
  sendWindowUpdate.call(s, 1000);
  assert.deepEqual(sent, [], 'under half used: nothing');
  s.recvWindowCapacity -= 1;
  sendWindowUpdate.call(s, 1000);
  assert.deepEqual(sent, [{ flag: 0, length: 128 * 1024 }], 'half used: all of it granted');
  assert.equal(s.recvWindowCapacity, 256 * 1024);
  assert.equal(s.epochStart, 1000);
  // Half a window taken within 4 round trips of the last update: the window doubles and the grant includes it.
  s.getRTT = () => 50;
  s.recvWindowCapacity -= 128 * 1024;
  sendWindowUpdate.call(s, 1200);
  assert.equal(s.recvWindow, 512 * 1024);
  assert.deepEqual(sent[1], { flag: 0, length: 384 * 1024 });
  // Slower than 4 round trips: no growth.
  s.recvWindowCapacity -= 256 * 1024;
  sendWindowUpdate.call(s, 1200 + 201);
  assert.equal(s.recvWindow, 512 * 1024);
  assert.deepEqual(sent[2], { flag: 0, length: 256 * 1024 });
  // Never past maxStreamWindowSize.
  const big = stream({ recvWindow: 16 * 1024 * 1024, recvWindowCapacity: 0, getRTT: () => 50, epochStart: 1000 });
  sendWindowUpdate.call(big.s, 1001);
  assert.equal(big.s.recvWindow, 16 * 1024 * 1024);
  assert.deepEqual(big.sent, [{ flag: 0, length: 16 * 1024 * 1024 }]);
});

test('a SYN or ACK goes out at once; a paused stream grants nothing and restarts its epoch', () => {
  const syn = stream({ getSendFlags: () => 1 });
  sendWindowUpdate.call(syn.s, 5);
  assert.deepEqual(syn.sent, [{ flag: 1, length: 0 }], 'a flag needs a frame even with nothing to grant');
  const paused = stream({ state: StreamState.Paused, recvWindowCapacity: 0 });
  sendWindowUpdate.call(paused.s, 77);
  assert.deepEqual(paused.sent, []);
  assert.equal(paused.s.epochStart, 77);
  assert.equal(paused.s.recvWindowCapacity, 0);
});

test('no growth for a SYN or ACK, nor while the round trip is unknown', () => {
  const syn = stream({ getSendFlags: () => 1, getRTT: () => 50, epochStart: 100 });
  sendWindowUpdate.call(syn.s, 101);
  assert.equal(syn.s.recvWindow, 256 * 1024, 'a flag frame does not grow the window');
  const unknown = stream({ getRTT: () => -1, epochStart: 100, recvWindowCapacity: 0 });
  sendWindowUpdate.call(unknown.s, 100);
  assert.equal(unknown.s.recvWindow, 256 * 1024);
  assert.deepEqual(unknown.sent, [{ flag: 0, length: 256 * 1024 }]);
});

test('installs only over a sendWindowUpdate that uses every field the replacement relies on', () => {
  const upstream = YamuxStream.prototype as unknown as { sendWindowUpdate: () => void };
  const fields = String(upstream.sendWindowUpdate === sendWindowUpdate ? sendWindowUpdate : upstream.sendWindowUpdate);
  for (const f of ['state', 'streamId', 'recvWindow', 'recvWindowCapacity', 'maxStreamWindowSize', 'epochStart', 'getRTT', 'getSendFlags', 'sendFrame']) {
    // A method like upstream's but without this field is left alone.
    const src = `return function sendWindowUpdate() { ${[
      'state',
      'streamId',
      'recvWindowCapacity',
      'recvWindow',
      'maxStreamWindowSize',
      'epochStart',
      'getRTT',
      'getSendFlags',
      'sendFrame'
    ]
      .filter((x) => x !== f)
      .map((x) => `this.${x};`)
      .join(' ')} }`;
    const own = new Function(src)() as () => void;
    const target = { sendWindowUpdate: own };
    assert.equal(installYamuxWindowUpdates(target), false, `without this.${f}`);
    assert.equal(target.sendWindowUpdate, own);
  }
  const all = { sendWindowUpdate: new Function(`return function () { ${fields.match(/this\.\w+/g)!.join('; ')} }`)() as () => void };
  assert.equal(installYamuxWindowUpdates(all), true);
  assert.equal(all.sendWindowUpdate, sendWindowUpdate);
  assert.equal(installYamuxWindowUpdates({ sendWindowUpdate: 42 }), false, 'not a method');
});
