// Peer identity (Ed25519 key persisted in a file, <home>/peer.key by homePaths, mode 0600) and private-swarm keys (swarm.key format).
import { readFile, writeFile, mkdir, chmod } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname } from 'node:path';
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import type { PrivateKey } from '@libp2p/interface';
import { SWARM_KEY_BYTES, SWARM_KEY_ENCODING, SWARM_KEY_HEADER } from './constants.ts';
import { InvalidPeerKeyError, InvalidSwarmKeyError } from './errors.ts';

/** Load the key file at `path` or create it (Ed25519, protobuf bytes, mode 0600). Same file → same peer ID. */
export async function loadOrCreatePeerKey(path: string): Promise<PrivateKey> {
  let bytes: Uint8Array | undefined;
  try {
    bytes = await readFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new InvalidPeerKeyError(`cannot read ${path}: ${(e as Error).message}`, e);
  }
  if (bytes) {
    try {
      const key = privateKeyFromProtobuf(bytes);
      if (key.type !== 'Ed25519') throw new Error(`key type ${key.type}`);
      return key;
    } catch (e) {
      throw new InvalidPeerKeyError(`${path} is not an Ed25519 libp2p private key (${(e as Error).message}); move it away to create a new identity`, e);
    }
  }
  await mkdir(dirname(path), { recursive: true });
  const key = await generateKeyPair('Ed25519');
  // 'wx': never overwrite a key another process just created.
  try {
    await writeFile(path, privateKeyToProtobuf(key), { mode: 0o600, flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return loadOrCreatePeerKey(path);
    throw e;
  }
  await chmod(path, 0o600);
  return key;
}

/** A new private-swarm key in the standard swarm.key text format (three lines). */
export function generateSwarmKey(): string {
  return `${SWARM_KEY_HEADER}\n${SWARM_KEY_ENCODING}\n${randomBytes(SWARM_KEY_BYTES).toString('hex')}\n`;
}

/**
 * Validate swarm.key text and return the bytes @libp2p/pnet's preSharedKey({ psk }) expects
 * (the normalized three-line text). Throws InvalidSwarmKeyError saying what is wrong.
 */
export function parseSwarmKey(text: string | Uint8Array): Uint8Array {
  const s = typeof text === 'string' ? text : Buffer.from(text).toString('utf8');
  const lines = s
    .split(/\r\n|\r|\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  if (lines.length !== 3)
    throw new InvalidSwarmKeyError(`swarm key must have 3 lines (${SWARM_KEY_HEADER}, ${SWARM_KEY_ENCODING}, 64 hex digits), found ${lines.length}`);
  if (lines[0] !== SWARM_KEY_HEADER) throw new InvalidSwarmKeyError(`swarm key must start with ${SWARM_KEY_HEADER}, found "${lines[0].slice(0, 40)}"`);
  if (lines[1] !== SWARM_KEY_ENCODING) throw new InvalidSwarmKeyError(`only the ${SWARM_KEY_ENCODING} encoding is supported, found "${lines[1].slice(0, 40)}"`);
  if (!/^[0-9a-fA-F]+$/.test(lines[2]) || lines[2].length !== SWARM_KEY_BYTES * 2) {
    throw new InvalidSwarmKeyError(`swarm key must be ${SWARM_KEY_BYTES * 2} hex digits, found ${lines[2].length} characters`);
  }
  return new TextEncoder().encode(`${SWARM_KEY_HEADER}\n${SWARM_KEY_ENCODING}\n${lines[2].toLowerCase()}`);
}
