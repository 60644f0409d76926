// sendFrame's backpressure: a frame counts as sent only once the stream handed it to its muxer (at most
// SEND_BUFFER_BYTES left in the stream), whatever 'drain' events libp2p dispatches. Real nodes over loopback TCP;
// the receiver pauses its stream, so after the first window nothing more can leave. The same over a shaped link,
// where this decides whether concurrent uploads finish: test/multihost/backpressure.test.ts.
import { test, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import type { Stream } from '@libp2p/interface';
import { encodeFrame, MSG, MAX_PAYLOAD_BYTES, PROTOCOL_NEGOTIATION_TIMEOUT_MS, SEND_BUFFER_BYTES, StreamTimeoutError } from '../../src/net/index.ts';
import { sendFrame } from '../../src/net/frame.ts';
import { makePeer, removeHome } from './helpers.ts';

const PROTOCOL = '/p2pbackup-test/sink/1.0.0';
const BUSY = '/p2pbackup-test/busy/1.0.0';
const A = await makePeer();
const B = await makePeer();
// A failed test leaves its handlers: the next one starts without them.
beforeEach(async () => {
  await B.node.libp2p.unhandle(PROTOCOL);
  await B.node.libp2p.unhandle(BUSY);
});
after(async () => {
  for (const p of [A, B]) {
    await p.stop().catch(() => {});
    await removeHome(p);
  }
});

test('a stream whose peer reads nothing: frames stop being "sent" once its buffer is full, and the wait times out', async () => {
  const held: Stream[] = [];
  await B.node.libp2p.handle(PROTOCOL, (stream) => {
    stream.pause(); // nothing read: no window update after the first 256 KiB
    held.push(stream);
  });
  const s = await A.node.libp2p.dialProtocol(B.node.multiaddrs()[0], PROTOCOL);
  let most = 0;
  let sent = 0;
  const t0 = Date.now();
  const err = await (async () => {
    try {
      for (; sent < 16; sent++) {
        await sendFrame(s, encodeFrame(MSG.DATA, {}, new Uint8Array(MAX_PAYLOAD_BYTES)), undefined, 700);
        most = Math.max(most, s.writeBufferLength);
      }
    } catch (e) {
      return e;
    }
  })();
  // Before the fix every frame resolved at once after the first drain: 16 MiB "sent", held in the stream's buffer.
  assert.ok(err instanceof StreamTimeoutError, `sendFrame gave up (${String(err)}) after ${sent} frames`);
  assert.ok(sent <= 1, `${sent} frames counted as sent while the peer read nothing`);
  assert.ok(most <= SEND_BUFFER_BYTES, `the stream held ${most} bytes when sendFrame returned`);
  assert.ok(Date.now() - t0 >= 700, 'the wait lasted its idle time');
  assert.equal(s.status, 'aborted', 'the stream is aborted on the timeout');
  await B.node.libp2p.unhandle(PROTOCOL);
});

test('a reader that is slow but moving: each frame waits for its bytes to leave, and no idle timeout fires while they do', async () => {
  let got = 0;
  await B.node.libp2p.handle(PROTOCOL, async (stream) => {
    // 256 KiB every 150 ms: about 1.7 MB/s, so 6 MiB take ~3.6 s, far past the 700 ms idle time below.
    stream.pause();
    const tick = setInterval(() => {
      stream.resume();
      setTimeout(() => stream.readStatus === 'readable' && stream.pause(), 5);
    }, 150);
    try {
      for await (const c of stream) got += c.byteLength;
    } finally {
      clearInterval(tick);
    }
  });
  const s = await A.node.libp2p.dialProtocol(B.node.multiaddrs()[0], PROTOCOL);
  let most = 0;
  for (let i = 0; i < 6; i++) {
    await sendFrame(s, encodeFrame(MSG.DATA, {}, new Uint8Array(MAX_PAYLOAD_BYTES)), undefined, 700);
    most = Math.max(most, s.writeBufferLength);
  }
  assert.ok(most <= SEND_BUFFER_BYTES, `the stream held ${most} bytes when sendFrame returned`);
  // Closed only once all arrived: a close while the reader is paused ends its iterator before what it buffered.
  for (let i = 0; i < 400 && got < 6 * MAX_PAYLOAD_BYTES; i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(got >= 6 * MAX_PAYLOAD_BYTES, `the reader got ${got} bytes`);
  await s.close();
  await B.node.libp2p.unhandle(PROTOCOL);
});

test('sendFrame gives up at once when the caller aborts, and when the stream is reset while it waits', async () => {
  await B.node.libp2p.handle(PROTOCOL, (stream) => {
    stream.pause();
    setTimeout(() => stream.abort(new Error('reset by the test')), 300);
  });
  const s = await A.node.libp2p.dialProtocol(B.node.multiaddrs()[0], PROTOCOL);
  const frame = () => encodeFrame(MSG.DATA, {}, new Uint8Array(MAX_PAYLOAD_BYTES));
  await assert.rejects(sendFrame(s, frame(), AbortSignal.abort(new Error('caller gave up')), 10_000), /caller gave up/);
  const t0 = Date.now();
  await assert.rejects(sendFrame(s, frame(), undefined, 10_000), (e: unknown) => !(e instanceof StreamTimeoutError));
  assert.ok(Date.now() - t0 < 5_000, 'the reset ended the wait, not the idle time');
  await B.node.libp2p.unhandle(PROTOCOL);
});

test("a stream whose window stays shut times out even while the connection's other streams keep it draining", async () => {
  // Every stream of a connection is told 'drain' whenever the connection drains: those events are no progress.
  let got = 0;
  await B.node.libp2p.handle(PROTOCOL, (stream) => stream.pause());
  await B.node.libp2p.handle(BUSY, async (stream) => {
    for await (const c of stream) got += c.byteLength;
  });
  const shut = await A.node.libp2p.dialProtocol(B.node.multiaddrs()[0], PROTOCOL);
  const other = await A.node.libp2p.dialProtocol(B.node.multiaddrs()[0], BUSY);
  const drains = { n: 0 };
  shut.addEventListener('drain', () => drains.n++);
  let stop = false;
  const t0 = Date.now();
  // At most 6 s of it: a wait that took the other stream's drains for progress would end only after that.
  const traffic = (async () => {
    while (!stop && Date.now() - t0 < 6_000) await sendFrame(other, encodeFrame(MSG.DATA, {}, new Uint8Array(256 * 1024)), undefined, 10_000);
  })();
  const frame = () => encodeFrame(MSG.DATA, {}, new Uint8Array(MAX_PAYLOAD_BYTES));
  await assert.rejects(
    (async () => {
      for (let i = 0; i < 4; i++) await sendFrame(shut, frame(), undefined, 700);
    })(),
    StreamTimeoutError
  );
  const waited = Date.now() - t0;
  stop = true;
  await traffic.catch(() => {});
  assert.ok(drains.n > 0, 'the shut stream was told drain meanwhile');
  assert.ok(got > 0, 'the other stream moved');
  assert.ok(waited < 5_000, `timed out after ${waited} ms`);
  other.abort(new Error('done'));
  await B.node.libp2p.unhandle(PROTOCOL);
  await B.node.libp2p.unhandle(BUSY);
});

test('sendFrame ends its wait when the caller aborts during it, and leaves no listener behind', async () => {
  await B.node.libp2p.handle(PROTOCOL, (stream) => stream.pause());
  const s = await A.node.libp2p.dialProtocol(B.node.multiaddrs()[0], PROTOCOL);
  const counts = () => ['drain', 'idle', 'close'].map((t) => s.listenerCount(t));
  const before = counts();
  const ac = new AbortController();
  setTimeout(() => ac.abort(new Error('caller gave up later')), 150);
  const t0 = Date.now();
  const frame = () => encodeFrame(MSG.DATA, {}, new Uint8Array(MAX_PAYLOAD_BYTES));
  await assert.rejects(
    (async () => {
      for (let i = 0; i < 4; i++) await sendFrame(s, frame(), ac.signal, 10_000);
    })(),
    /caller gave up later/
  );
  assert.ok(Date.now() - t0 < 5_000, 'the abort ended the wait, not the idle time');
  assert.deepEqual(counts(), before, 'drain, idle and close listeners as before the wait');
  s.abort(new Error('done'));
  await B.node.libp2p.unhandle(PROTOCOL);
});

test("both ends give a new stream PROTOCOL_NEGOTIATION_TIMEOUT_MS to select its protocol, not libp2p's 10 s", async () => {
  // Over a busy uplink a new stream's first bytes wait behind the connection's queue; at 10 s the storage peers
  // reset share streams in `bench wan` (40 Mbit/s, 256 MiB first backup). The value itself is checked on the
  // connections both nodes made, so a libp2p that renamed the option fails here.
  assert.ok(PROTOCOL_NEGOTIATION_TIMEOUT_MS >= 30_000);
  await A.node.libp2p.dial(B.node.multiaddrs()[0]);
  const ends = [...A.node.libp2p.getConnections(B.node.peerId), ...B.node.libp2p.getConnections(A.node.peerId)];
  assert.ok(ends.length >= 2);
  for (const c of ends) {
    const t = c as unknown as { inboundStreamProtocolNegotiationTimeout?: number; outboundStreamProtocolNegotiationTimeout?: number };
    assert.equal(t.inboundStreamProtocolNegotiationTimeout, PROTOCOL_NEGOTIATION_TIMEOUT_MS);
    assert.equal(t.outboundStreamProtocolNegotiationTimeout, PROTOCOL_NEGOTIATION_TIMEOUT_MS);
  }
});
