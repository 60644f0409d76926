// Noise decryption without copying messages that span reads (src/net/noise-decrypt.ts): the replacement decrypts
// what upstream decrypts (one piece or many, small or large, several messages in a chunk), fails where upstream
// fails, copies nothing for a large message in pieces, and is installed on the product's nodes (a changed
// @chainsafe/libp2p-noise shows here as an upstream left in place).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Uint8ArrayList } from 'uint8arraylist';
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto';
import { LengthPrefixedDecoder } from '@libp2p/utils';
import { decrypt, installNoiseDecrypt, installNoiseLength, noiseDecryptStats, noiseLength, type NoiseStreamState } from '../../src/net/noise-decrypt.ts';
import { quietLogger } from '../../src/net/quiet-log.ts';
import { makePeer, removeHome, streamThrough } from './helpers.ts';

const KEY = randomBytes(32);
const AD = new Uint8Array(0);
/** Nonce n as Noise builds it: 4 zero bytes, then the counter little-endian. */
const nonce = (n: number) => {
  const b = new Uint8Array(12);
  new DataView(b.buffer).setUint32(4, n, true);
  return b;
};

/** Noise's cipher state for one direction: each message the next nonce (as the package's handshake does). */
function receiver(): NoiseStreamState & { counts: { ok: number; bad: number }; dsts: (Uint8Array | undefined)[] } {
  let n = 0;
  const counts = { ok: 0, bad: 0 };
  const dsts: (Uint8Array | undefined)[] = [];
  return {
    counts,
    dsts,
    handshake: {
      decrypt(ciphertext, dst) {
        dsts.push(dst);
        // (the package's own copy of uint8arraylist, an older major: the same list, another type)
        return defaultCrypto.chaCha20Poly1305Decrypt(ciphertext as never, nonce(n++), AD, KEY, dst) as never;
      }
    },
    metrics: { decryptedPackets: { increment: () => counts.ok++ }, decryptErrors: { increment: () => counts.bad++ } }
  };
}

const seal = (plain: Uint8Array, n: number) => Uint8Array.from(defaultCrypto.chaCha20Poly1305Encrypt(plain, nonce(n), AD, KEY).subarray());

/** `bytes` cut into pieces at `cuts` (as socket reads deliver them), in a Uint8ArrayList. */
function inPieces(bytes: Uint8Array, cuts: number[]): Uint8ArrayList {
  const list = new Uint8ArrayList();
  let at = 0;
  for (const c of [...cuts, bytes.length]) {
    list.append(bytes.slice(at, c)); // a copy: each piece its own memory, as reads give them
    at = c;
  }
  return list;
}

const hash = (b: Uint8Array | Uint8ArrayList) => createHash('sha256').update(b.subarray()).digest('hex');

test('a message in pieces, large or small, decrypts to its plaintext; a large one is not copied into a dst first', () => {
  for (const size of [65_519, 40_000, 1_184, 1_183, 100, 0]) {
    const plain = randomBytes(size);
    const sealed = seal(plain, 0);
    const r = receiver();
    let copies = 0;
    const list = inPieces(sealed, [Math.floor(sealed.length / 3), Math.floor(sealed.length / 2)]);
    const subarray = list.subarray.bind(list);
    list.subarray = (...a: Parameters<Uint8ArrayList['subarray']>) => {
      if ((a[1] ?? list.byteLength) - (a[0] ?? 0) > 16) copies++; // the tag's 16 bytes may be joined; a dst is more
      return subarray(...a);
    };
    const out = decrypt.call(r, list);
    assert.equal(hash(out), hash(plain), `${size} bytes`);
    assert.deepEqual(r.counts, { ok: 1, bad: 0 });
    if (sealed.length >= 1200) {
      assert.equal(copies, 0, `a ${sealed.length}-byte message in pieces is not joined for a dst nobody uses (upstream: 1)`);
      assert.equal(r.dsts[0], undefined);
    } else assert.equal(r.dsts[0]?.length, size, 'a small message keeps its dst (the wasm cipher decrypts into it)');
    assert.equal(out.byteLength, size);
  }
});

test('a message in one piece, and several messages in one chunk, decrypt as upstream', () => {
  const plains = [randomBytes(65_519), randomBytes(65_519), randomBytes(7)];
  const sealed = plains.map((p, i) => seal(p, i));
  // One piece: its dst is a view of its own memory (free), given as upstream gives it.
  const one = receiver();
  assert.equal(hash(decrypt.call(one, sealed[0])), hash(plains[0]));
  assert.equal(one.dsts[0]?.buffer, sealed[0].buffer);
  // Three messages back to back in one chunk (a chunk holds at most MESSAGE_MAX bytes per message).
  const all = new Uint8Array(sealed.reduce((s, b) => s + b.length, 0));
  let at = 0;
  for (const b of sealed) all.set(b, (at += b.length) - b.length);
  const r = receiver();
  assert.equal(hash(decrypt.call(r, inPieces(all, [1000, 70_000, 131_000]))), hash(Buffer.concat(plains)));
  assert.equal(r.counts.ok, 3);
  assert.deepEqual(
    r.dsts.map((d) => d?.length),
    [undefined, undefined, 7],
    'the small third message, at its own offset in the chunk, keeps its dst'
  );
});

test('an altered message or a chunk shorter than a tag fails, counted as upstream counts it', () => {
  const sealed = seal(randomBytes(50_000), 0);
  sealed[1234] ^= 1;
  const r = receiver();
  assert.throws(() => decrypt.call(r, inPieces(sealed, [20_000])));
  assert.deepEqual(r.counts, { ok: 0, bad: 1 });
  assert.throws(() => decrypt.call(receiver(), new Uint8Array(15)), /Invalid chunk/);
  // Without metrics (the package makes them optional), the cipher's own error still comes out.
  const bare: NoiseStreamState = { handshake: receiver().handshake };
  assert.throws(
    () => decrypt.call(bare, inPieces(sealed, [30_000])),
    (e: Error) => !(e instanceof TypeError)
  );
});

test('installed only over the upstream method it is written against', () => {
  const changed = { decrypt: (chunk: Uint8Array) => chunk };
  assert.equal(installNoiseDecrypt(changed), false);
  assert.notEqual(changed.decrypt as unknown, decrypt);
  assert.equal(installNoiseDecrypt({}), false);
  const partly = { decrypt: (chunk: Uint8Array) => chunk.subarray(0, 'NOISE_MSG_MAX_LENGTH_BYTES decryptedPackets decryptErrors'.length) };
  assert.equal(installNoiseDecrypt(partly), false, 'some of the marks are not enough');
  // The marks of @chainsafe/libp2p-noise 17's EncryptedMessageStream.decrypt, in a method of its own.
  const upstreamLike = {
    decrypt(this: NoiseStreamState, chunk: Uint8Array) {
      const NOISE_MSG_MAX_LENGTH_BYTES = 65535;
      const CHACHA_TAG_LENGTH = 16;
      const i = 0;
      const end = Math.min(NOISE_MSG_MAX_LENGTH_BYTES, chunk.length);
      const encrypted = chunk;
      const dst = chunk.subarray(i, end - CHACHA_TAG_LENGTH);
      try {
        this.metrics?.decryptedPackets.increment();
        return this.handshake.decrypt(encrypted, dst);
      } catch (e) {
        this.metrics?.decryptErrors.increment();
        throw e;
      }
    }
  };
  assert.equal(installNoiseDecrypt(upstreamLike), true);
  assert.equal(upstreamLike.decrypt as unknown, decrypt);
  assert.equal(installNoiseDecrypt(upstreamLike), true, 'already installed');
});

test("the product's nodes decrypt with the replacement, and a stream between them carries 8 MiB whole", async () => {
  const [a, b] = [await makePeer(), await makePeer()];
  try {
    const data = randomBytes(8 << 20);
    const got = await streamThrough(a, b, '/p2pbackup-test/noise/1', data);
    assert.equal(got, createHash('sha256').update(data).digest('hex'));
    assert.ok(noiseDecryptStats.secured >= 2, `both ends secured through the wrapped encrypter (${noiseDecryptStats.secured})`);
    assert.equal(noiseDecryptStats.installed, true, "the stream class's decrypt was replaced (upstream still builds its dst as expected)");
    assert.equal((noiseDecryptStats.prototype as { decrypt?: unknown } | null)?.decrypt, decrypt);
    assert.ok(
      noiseDecryptStats.lengthDecoders >= 2 && noiseDecryptStats.lengthDecoders === noiseDecryptStats.secured,
      `every secured connection took the length decoder that does not throw (${noiseDecryptStats.lengthDecoders} of ${noiseDecryptStats.secured})`
    );
    assert.equal((a.node.libp2p as unknown as { logger: unknown }).logger, quietLogger, 'DEBUG unset: the quiet logger');
  } finally {
    await a.stop();
    await b.stop();
    await removeHome(a);
    await removeHome(b);
  }
});

/** Upstream's length decoder as the package writes it: a RangeError until 2 bytes are buffered. */
function uint16BEDecode(data: Uint8Array | Uint8ArrayList): number {
  if (data.length < 2) throw RangeError('Could not decode int16BE');
  return data instanceof Uint8Array ? (data[0] << 8) + data[1] : data.getUint16(0);
}

test('the length decoder answers 0 below 2 bytes instead of throwing, and frames a stream cut anywhere as upstream does', () => {
  assert.equal(noiseLength(new Uint8Array(0)), 0);
  assert.equal(noiseLength(Uint8Array.of(0xff)), 0);
  assert.equal(noiseLength(new Uint8ArrayList(Uint8Array.of(0xff))), 0);
  assert.equal(noiseLength(Uint8Array.of(0x12, 0x34, 0x56)), 0x1234);
  assert.equal(noiseLength(new Uint8ArrayList(Uint8Array.of(0xff), Uint8Array.of(0xfe))), 0xfffe, 'the two bytes in two pieces');
  // Frames of 0..300 bytes and one of 65,535, cut at every offset of a 7-byte read pattern.
  const frames = [...[0, 1, 2, 255, 256, 300].map((n) => randomBytes(n)), randomBytes(65_535)];
  const wire = Buffer.concat(frames.flatMap((f) => [Uint8Array.of(f.length >> 8, f.length & 0xff), f]));
  const framesOf = (lengthDecoder: typeof noiseLength, step: number) => {
    const d = new LengthPrefixedDecoder({ lengthDecoder, maxBufferSize: 16 << 20, encodingLength: () => 2 });
    const out: string[] = [];
    for (let at = 0; at < wire.length; at += step) for (const m of d.decode(wire.subarray(at, at + step))) out.push(hash(m));
    return out;
  };
  for (const step of [1, 2, 3, 7, 4096, wire.length]) {
    const ours = framesOf(noiseLength, step);
    assert.deepEqual(ours, framesOf(uint16BEDecode, step), `reads of ${step} bytes`);
    assert.equal(ours.length, frames.length - 1, 'every non-empty frame, once (an empty one is dropped by the decoder, as upstream)');
  }
});

test("the length decoder is installed only over upstream's shape: a LengthPrefixedDecoder of 2-byte lengths named uint16BEDecode", () => {
  const upstream = () => ({ decoder: new LengthPrefixedDecoder({ lengthDecoder: uint16BEDecode, encodingLength: () => 2 }) });
  const c = upstream();
  assert.equal(installNoiseLength(c), true);
  assert.equal((c.decoder as unknown as { lengthDecoder: unknown }).lengthDecoder, noiseLength);
  assert.equal(installNoiseLength(c), true, 'already installed');
  assert.equal(installNoiseLength({}), false, 'no decoder');
  assert.equal(installNoiseLength({ decoder: { lengthDecoder: uint16BEDecode, encodingLength: () => 2 } }), false, 'not a LengthPrefixedDecoder');
  const other = { decoder: new LengthPrefixedDecoder({ lengthDecoder: (b: Uint8Array | Uint8ArrayList) => b.length, encodingLength: () => 2 }) };
  assert.equal(installNoiseLength(other), false, 'another length decoder is left alone');
  const broken = new LengthPrefixedDecoder({ lengthDecoder: uint16BEDecode, encodingLength: () => 2 });
  (broken as unknown as { lengthDecoder: unknown }).lengthDecoder = null;
  assert.equal(installNoiseLength({ decoder: broken }), false, 'no length decoder function: left alone');
  const varint = { decoder: new LengthPrefixedDecoder({ lengthDecoder: uint16BEDecode }) };
  assert.equal(installNoiseLength(varint), false, 'lengths not of 2 bytes: left alone');
});
