// Binary Merkle trees over block hashes, stored as a complete tree in an array:
// node 0 is the root, node i has children 2i+1 and 2i+2, leaf j is node (leaves - 1 + j).
// Leaves past the last segment hold EMPTY_LEAF. Interior node = taggedHash(TAGS.node, left, right).
import { HASH_BYTES, TAGS } from '../crypto/constants.ts';
import { taggedHash, taggedPartHasher, taggedPairHasher } from '../crypto/hash.ts';

export const EMPTY_LEAF: Uint8Array = taggedHash(TAGS.emptyLeaf);

export function blockHash(block: Uint8Array): Uint8Array {
  return taggedHash(TAGS.block, block);
}

/** blockHash of a block of `length` bytes given in pieces: update(piece)… then digest() (no joined copy). */
export const blockHasher = (length: number): ReturnType<typeof taggedPartHasher> => taggedPartHasher(TAGS.block, length);

export const nodeHash: (left: Uint8Array, right: Uint8Array) => Uint8Array = taggedPairHasher(TAGS.node);

const node = (tree: Uint8Array, i: number) => tree.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES);

/** Build the whole tree (2 * leaves - 1 nodes, 32 bytes each) from the leaf hashes. */
export function buildTree(leafHashes: Uint8Array[], leaves: number): Uint8Array {
  const tree = new Uint8Array((2 * leaves - 1) * HASH_BYTES);
  for (let j = 0; j < leaves; j++) tree.set(j < leafHashes.length ? leafHashes[j] : EMPTY_LEAF, (leaves - 1 + j) * HASH_BYTES);
  for (let i = leaves - 2; i >= 0; i--) tree.set(nodeHash(node(tree, 2 * i + 1), node(tree, 2 * i + 2)), i * HASH_BYTES);
  return tree;
}

/** Check a whole stored tree: padding leaves, every interior node, and the root. Returns false on any mismatch. */
export function checkTree(tree: Uint8Array, leaves: number, usedLeaves: number, root: Uint8Array): boolean {
  if (tree.length !== (2 * leaves - 1) * HASH_BYTES) return false;
  for (let j = usedLeaves; j < leaves; j++) if (!equal(node(tree, leaves - 1 + j), EMPTY_LEAF)) return false;
  for (let i = leaves - 2; i >= 0; i--) if (!equal(node(tree, i), nodeHash(node(tree, 2 * i + 1), node(tree, 2 * i + 2)))) return false;
  return equal(node(tree, 0), root);
}

export function treeNode(tree: Uint8Array, i: number): Uint8Array {
  return node(tree, i);
}

/** Node indexes of the siblings on the path from leaf j to the root (bottom-up). */
export function pathIndexes(leaf: number, leaves: number): number[] {
  const out: number[] = [];
  let i = leaves - 1 + leaf;
  while (i > 0) {
    out.push(i % 2 === 1 ? i + 1 : i - 1);
    i = (i - 1) >> 1;
  }
  return out;
}

/** Root implied by a leaf hash and its sibling path. */
export function rootFromPath(leafHash: Uint8Array, leaf: number, leaves: number, siblings: Uint8Array[]): Uint8Array {
  let h = leafHash;
  let i = leaves - 1 + leaf;
  let s = 0;
  while (i > 0) {
    h = i % 2 === 1 ? nodeHash(h, siblings[s]) : nodeHash(siblings[s], h);
    s++;
    i = (i - 1) >> 1;
  }
  return h;
}

export function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}
