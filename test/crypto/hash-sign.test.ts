import { test } from 'node:test';
import assert from 'node:assert/strict';
import { taggedHash, taggedHasher, blobKeys, ownerKey, ed25519PublicKey, ed25519Sign, ed25519Verify, randomBytes, randomKey } from '../../src/crypto/index.ts';

const b = (s: string) => new TextEncoder().encode(s);

test('tagged hash is domain-separated and unambiguous', () => {
  assert.notDeepEqual(taggedHash('a', b('x')), taggedHash('b', b('x')));
  assert.notDeepEqual(taggedHash('t', b('ab'), b('c')), taggedHash('t', b('a'), b('bc')));
  assert.notDeepEqual(taggedHash('t', b('ab')), taggedHash('ta', b('b')));
  assert.equal(taggedHash('t').length, 32);
  const h = taggedHasher('s');
  h.update(b('he'));
  h.update(b('llo'));
  const h2 = taggedHasher('s');
  h2.update(b('hello'));
  assert.deepEqual(h.digest(), h2.digest());
});

test('blob ids and keys depend on secret, kind and plaintext; id and key differ; owner keys by purpose', () => {
  const s = randomBytes(32),
    pt = randomBytes(1000);
  const a = blobKeys(s, 1, pt);
  assert.deepEqual(a, blobKeys(s, 1, Uint8Array.from(pt)));
  assert.notDeepEqual(a.id, a.key);
  assert.notDeepEqual(a.id, blobKeys(randomBytes(32), 1, pt).id);
  assert.notDeepEqual(a.id, blobKeys(s, 2, pt).id);
  const pt2 = Uint8Array.from(pt);
  pt2[999] ^= 1;
  assert.notDeepEqual(a.id, blobKeys(s, 1, pt2).id);
  assert.notDeepEqual(a.key, blobKeys(s, 1, pt2).key);
  assert.equal(a.id.length, 32);
  assert.equal(a.key.length, 32);
  assert.notDeepEqual(ownerKey(s, 'repo-slot'), ownerKey(s, 'chunker'));
  assert.deepEqual(ownerKey(s, 'chunker'), ownerKey(s, 'chunker'));
  assert.throws(() => blobKeys(new Uint8Array(31), 1, pt));
  assert.equal(randomKey().length, 32);
});

test('Ed25519 sign/verify', () => {
  const seed = randomBytes(32);
  const pub = ed25519PublicKey(seed);
  const sig = ed25519Sign(seed, b('msg'));
  assert.equal(sig.length, 64);
  assert.ok(ed25519Verify(pub, b('msg'), sig));
  assert.ok(!ed25519Verify(pub, b('msh'), sig));
  const bad = Uint8Array.from(sig);
  bad[0] ^= 1;
  assert.ok(!ed25519Verify(pub, b('msg'), bad));
  assert.ok(!ed25519Verify(ed25519PublicKey(randomBytes(32)), b('msg'), sig));
});

test('Ed25519 RFC 8032 test 1', () => {
  const seed = Buffer.from('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'hex');
  assert.equal(Buffer.from(ed25519PublicKey(seed)).toString('hex'), 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
  assert.equal(
    Buffer.from(ed25519Sign(seed, new Uint8Array(0))).toString('hex'),
    'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b'
  );
});

test('Ed25519 keys kept per seed: the key follows the bytes (not the buffer), past the kept count, and a caller cannot change a kept one', async () => {
  const { createPrivateKey, createPublicKey } = await import('node:crypto');
  const reference = (seed: Uint8Array) => {
    const priv = createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]), format: 'der', type: 'pkcs8' });
    return new Uint8Array(createPublicKey(priv).export({ format: 'der', type: 'spki' }).subarray(-32));
  };
  const seeds = Array.from({ length: 70 }, () => randomBytes(32));
  for (let round = 0; round < 2; round++) {
    for (const seed of seeds) {
      assert.deepEqual(ed25519PublicKey(seed), reference(seed));
      assert.ok(ed25519Verify(reference(seed), b('m'), ed25519Sign(seed, b('m'))));
    }
  }
  const seed = randomBytes(32);
  const first = ed25519PublicKey(seed);
  first.fill(0);
  assert.deepEqual(ed25519PublicKey(seed), reference(seed), 'the returned key is a copy');
  seed[0] ^= 1;
  assert.deepEqual(ed25519PublicKey(seed), reference(seed), 'the same buffer with other bytes is another key');
  assert.ok(ed25519Verify(reference(seed), b('x'), ed25519Sign(seed, b('x'))));
  assert.throws(() => ed25519PublicKey(randomBytes(31)), /32 bytes/);
});
