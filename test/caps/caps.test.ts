import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from '../../src/crypto/index.ts';
import {
  base32Decode,
  base32Encode,
  formatCap,
  packKey,
  parseCap,
  toVerifyCap,
  toReadCap,
  storageIndexOf,
  packStorageIndex,
  InvalidCapError,
  createMutableWriteCap,
  signRecord,
  verifyRecord,
  openRecord,
  InvalidRecordError,
  type Cap,
  type PackCap,
  type BlobCap
} from '../../src/caps/index.ts';
import { taggedHash, TAGS } from '../../src/crypto/index.ts';

test('base32 matches RFC 4648 (lowercase, unpadded) and is strict', () => {
  const cases: [string, string][] = [
    ['', ''],
    ['f', 'my'],
    ['fo', 'mzxq'],
    ['foo', 'mzxw6'],
    ['foob', 'mzxw6yq'],
    ['fooba', 'mzxw6ytb'],
    ['foobar', 'mzxw6ytboi']
  ];
  for (const [plain, b32] of cases) {
    assert.equal(base32Encode(new TextEncoder().encode(plain)), b32);
    assert.equal(Buffer.from(base32Decode(b32)!).toString(), plain);
  }
  assert.equal(base32Decode('mz'), null); // non-zero trailing bits
  assert.equal(base32Decode('m1'), null); // not in alphabet
  assert.equal(base32Decode('mzx'), null); // impossible length
});

const pack: PackCap = { type: 'pack', uebHash: randomBytes(32), k: 3, n: 10, size: 123456789 };
const mw = createMutableWriteCap();
const blob: BlobCap = { type: 'blob', kind: 'list', id: randomBytes(32), key: randomBytes(32), repo: toReadCap(mw) };
const all: Cap[] = [
  pack,
  blob,
  { ...blob, kind: 'snapshot' },
  { ...blob, kind: 'tree' },
  { ...blob, kind: 'data' },
  { type: 'lit', data: randomBytes(55) },
  { type: 'lit', data: new Uint8Array(0) },
  mw,
  toReadCap(mw),
  toVerifyCap(mw)
];

test('every cap type round-trips through text exactly', () => {
  for (const cap of all) {
    const s = formatCap(cap);
    assert.match(s, /^p2pb:(pack|blob|lit|mw|mr|mv):[a-z2-7]*:[a-z2-7]{8}$/);
    assert.deepEqual(parseCap(s), cap);
    assert.equal(formatCap(parseCap(s)), s);
    assert.deepEqual(parseCap(`  ${s.toUpperCase()}\n`), cap);
  }
  assert.ok(formatCap(pack).length < 100, 'a pack cap is short');
  assert.ok(formatCap(blob).length < 230, 'a blob cap fits a QR code');
});

test('derivations are one-way and storage indexes agree', () => {
  assert.deepEqual(storageIndexOf(pack), packStorageIndex(pack.uebHash));
  assert.deepEqual(storageIndexOf(pack), taggedHash(TAGS.packStorageIndex, pack.uebHash).slice(0, 16));
  assert.equal(toVerifyCap(pack), pack);
  assert.equal(storageIndexOf({ type: 'lit', data: new Uint8Array(1) }), null);
  assert.equal(storageIndexOf(blob), null);
  assert.throws(
    () => toVerifyCap(blob as never),
    (e: InvalidCapError) => e.code === 'ERR_CAP_WRONG_KIND'
  );
  assert.deepEqual(storageIndexOf(mw), storageIndexOf(toVerifyCap(mw)));
  assert.deepEqual(storageIndexOf(toReadCap(mw)), storageIndexOf(mw));
  assert.ok(!('seed' in toReadCap(mw)));
});

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof InvalidCapError, String(e));
    return e.code;
  }
  assert.fail('expected InvalidCapError');
}

function checksumFor(type: string, body: Uint8Array): string {
  return base32Encode(taggedHash(TAGS.capChecksum, new TextEncoder().encode(type), body).slice(0, 5));
}
const forge = (type: string, b: Uint8Array) => `p2pb:${type}:${base32Encode(b)}:${checksumFor(type, b)}`;

test('typos and malformed caps are refused with specific codes', () => {
  const s = formatCap(pack);
  const [p, t, body, sum] = s.split(':');
  assert.equal(
    code(() => parseCap('x' + s)),
    'ERR_CAP_BAD_PREFIX'
  );
  assert.equal(
    code(() => parseCap(`${p}:${t}:${body}`)),
    'ERR_CAP_BAD_PREFIX'
  );
  assert.equal(
    code(() => parseCap(`${p}:zzz:${body}:${sum}`)),
    'ERR_CAP_UNKNOWN_TYPE'
  );
  assert.equal(
    code(() => parseCap(`${p}:${t}:${body}1:${sum}`)),
    'ERR_CAP_BAD_BASE32'
  );
  assert.equal(
    code(() => parseCap(`${p}:blob:${body}:${sum}`)),
    'ERR_CAP_BAD_CHECKSUM'
  );
  // every single-character substitution in the body and checksum is refused
  for (let i = 0; i < body.length + sum.length; i += 3) {
    const chars = (body + ':' + sum).split('');
    const j = i >= body.length ? i + 1 : i;
    chars[j] = chars[j] === 'a' ? 'b' : 'a';
    const c = code(() => parseCap(`${p}:${t}:${chars.join('')}`));
    assert.ok(c === 'ERR_CAP_BAD_CHECKSUM' || c === 'ERR_CAP_BAD_BASE32', c);
  }
  // valid checksum but wrong version / length / fields
  const b2 = base32Decode(body)!;
  b2[0] = 9;
  assert.equal(
    code(() => parseCap(forge('pack', b2))),
    'ERR_CAP_UNKNOWN_VERSION'
  );
  assert.equal(
    code(() => parseCap(forge('pack', base32Decode(body)!.subarray(0, 40)))),
    'ERR_CAP_BAD_LENGTH'
  );
  const b4 = base32Decode(body)!;
  b4[33] = 0;
  b4[34] = 0; // k = 0, n = 0
  assert.equal(
    code(() => parseCap(forge('pack', b4))),
    'ERR_CAP_BAD_FIELD'
  );
  const b5 = base32Decode(body)!;
  b5.fill(0, 35, 43); // size 0
  assert.equal(
    code(() => parseCap(forge('pack', b5))),
    'ERR_CAP_BAD_FIELD'
  );
  const bb = base32Decode(formatCap(blob).split(':')[2])!;
  bb[1] = 99; // unknown blob kind
  assert.equal(
    code(() => parseCap(forge('blob', bb))),
    'ERR_CAP_BAD_FIELD'
  );
  assert.equal(
    code(() => formatCap({ ...blob, key: randomBytes(31) })),
    'ERR_CAP_BAD_FIELD'
  );
  assert.equal(
    code(() => formatCap({ type: 'lit', data: randomBytes(56) })),
    'ERR_CAP_BAD_FIELD'
  );
});

test('format 1 caps (chk, chkv, slice, or version byte 1) get ERR_CAP_FORMAT_V1', () => {
  for (const t of ['chk', 'chkv', 'slice'])
    assert.equal(
      code(() => parseCap(forge(t, Uint8Array.of(1, 2, 3)))),
      'ERR_CAP_FORMAT_V1'
    );
  const b = base32Decode(formatCap(mw).split(':')[2])!;
  b[0] = 1;
  assert.equal(
    code(() => parseCap(forge('mw', b))),
    'ERR_CAP_FORMAT_V1'
  );
});

test('mutable records: sign, verify, open; tampering and wrong keys refused', () => {
  const payload = new TextEncoder().encode('folder v1');
  const rec = signRecord(mw, 7, payload);
  assert.equal(verifyRecord(toVerifyCap(mw), rec).seq, 7);
  assert.deepEqual(openRecord(toReadCap(mw), rec), { seq: 7, payload });
  assert.deepEqual(openRecord(mw, rec).payload, payload);
  for (const pos of [0, 4, 9, 20, 50, 73, 80, rec.length - 1]) {
    const bad = Uint8Array.from(rec);
    bad[pos] ^= 1;
    assert.throws(() => openRecord(mw, bad), InvalidRecordError, `byte ${pos}`);
  }
  assert.throws(
    () => verifyRecord(toVerifyCap(createMutableWriteCap()), rec),
    (e: InvalidRecordError) => e.code === 'ERR_RECORD_WRONG_KEY'
  );
  assert.throws(
    () => verifyRecord(mw, rec.subarray(0, rec.length - 1)),
    (e: InvalidRecordError) => e.code === 'ERR_RECORD_MALFORMED'
  );
  const other = createMutableWriteCap();
  const forged = signRecord(other, 8, payload);
  assert.throws(() => openRecord(mw, forged), InvalidRecordError);
  const empty = signRecord(mw, 0, new Uint8Array(0));
  assert.equal(openRecord(mw, empty).payload.length, 0);
});

test('packKey: the same for equal pack caps (other objects, a view of a bigger buffer), different when any field differs', () => {
  const big = new Uint8Array(40);
  big.set(pack.uebHash, 5);
  assert.equal(packKey({ ...pack, uebHash: big.subarray(5, 37) }), packKey(pack));
  assert.equal(packKey(parseCap(formatCap(pack)) as PackCap), packKey(pack));
  const other = Uint8Array.from(pack.uebHash);
  other[31] ^= 1;
  const keys = [pack, { ...pack, uebHash: other }, { ...pack, k: 4 }, { ...pack, n: 11 }, { ...pack, size: pack.size + 1 }].map((p) => packKey(p));
  assert.equal(new Set(keys).size, keys.length);
});
