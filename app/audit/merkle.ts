// The RFC 6962 Merkle tree (section 2.1): leaf hash SHA-256(0x00 || leaf), node hash
// SHA-256(0x01 || left || right), the tree split at the largest power of two below its size.
// Pure functions over a node reader, so the same code serves the sealer (nodes in the database),
// the verifier (nodes recomputed from the records) and the tests.
import { hash } from 'node:crypto';

export type Hash = Buffer;

const LEAF_PREFIX = Buffer.from([0x00]);
const NODE_PREFIX = Buffer.from([0x01]);

export function leafHash(leaf: Buffer): Hash {
  return hash('sha256', Buffer.concat([LEAF_PREFIX, leaf]), 'buffer');
}

export function nodeHash(left: Hash, right: Hash): Hash {
  return hash('sha256', Buffer.concat([NODE_PREFIX, left, right]), 'buffer');
}

/** SHA-256 of the empty string: the root of the empty tree (RFC 6962, 2.1). */
export const EMPTY_ROOT: Hash = hash('sha256', '', 'buffer');

/** The largest power of two strictly smaller than n (n >= 2). */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/**
 * A stored perfect subtree: `level` 0 is a leaf, level l covers leaves [index * 2^l, (index + 1) * 2^l).
 * Only perfect subtrees are ever stored, because they never change once complete.
 */
export interface NodeAddress {
  level: number;
  index: number;
}

export type NodeReader = (address: NodeAddress) => Promise<Hash>;

/** MTH(D[start:end]) from stored perfect subtrees. */
async function subtreeHash(read: NodeReader, start: number, end: number): Promise<Hash> {
  const size = end - start;
  if (size <= 0) throw new Error(`empty subtree [${start}, ${end})`);
  if ((size & (size - 1)) === 0 && start % size === 0) {
    return read({ level: Math.log2(size), index: start / size });
  }
  const k = splitPoint(size);
  return nodeHash(await subtreeHash(read, start, start + k), await subtreeHash(read, start + k, end));
}

export async function rootHash(read: NodeReader, treeSize: number): Promise<Hash> {
  return treeSize === 0 ? EMPTY_ROOT : subtreeHash(read, 0, treeSize);
}

/** PATH(m, D[n]) of RFC 6962, 2.1.1: the audit path of leaf m in the tree of size n, leaf side first. */
export async function inclusionPath(read: NodeReader, leafIndex: number, treeSize: number): Promise<Hash[]> {
  if (leafIndex < 0 || leafIndex >= treeSize) throw new Error(`leaf ${leafIndex} is not in a tree of size ${treeSize}`);
  const path = async (m: number, start: number, end: number): Promise<Hash[]> => {
    if (end - start === 1) return [];
    const k = splitPoint(end - start);
    return m < start + k
      ? [...(await path(m, start, start + k)), await subtreeHash(read, start + k, end)]
      : [...(await path(m, start + k, end)), await subtreeHash(read, start, start + k)];
  };
  return path(leafIndex, 0, treeSize);
}

/** PROOF(m, D[n]) of RFC 6962, 2.1.2: that the tree of size m is a prefix of the tree of size n. */
export async function consistencyPath(read: NodeReader, oldSize: number, newSize: number): Promise<Hash[]> {
  if (oldSize < 0 || oldSize > newSize) throw new Error(`no consistency proof from size ${oldSize} to size ${newSize}`);
  if (oldSize === 0 || oldSize === newSize) return [];
  const subproof = async (m: number, start: number, end: number, whole: boolean): Promise<Hash[]> => {
    const n = end - start;
    if (m === n) return whole ? [] : [await subtreeHash(read, start, end)];
    const k = splitPoint(n);
    return m <= k
      ? [...(await subproof(m, start, start + k, whole)), await subtreeHash(read, start + k, end)]
      : [...(await subproof(m - k, start + k, end, false)), await subtreeHash(read, start, start + k)];
  };
  return subproof(oldSize, 0, newSize, true);
}

/** Inclusion proof verification, RFC 9162 section 2.1.3.2 (the same tree as RFC 6962). */
export function verifyInclusion(leaf: Hash, leafIndex: number, treeSize: number, path: readonly Hash[], root: Hash): boolean {
  if (leafIndex < 0 || leafIndex >= treeSize) return false;
  let fn = leafIndex;
  let sn = treeSize - 1;
  let r = leaf;
  for (const p of path) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && r.equals(root);
}

/** Consistency proof verification, RFC 9162 section 2.1.4.2. */
export function verifyConsistency(oldSize: number, newSize: number, oldRoot: Hash, newRoot: Hash, proof: readonly Hash[]): boolean {
  if (oldSize < 0 || oldSize > newSize) return false;
  if (oldSize === newSize) return proof.length === 0 && oldRoot.equals(newRoot);
  if (oldSize === 0) return proof.length === 0;
  const path = [...proof];
  // When the old size is a power of two the old root itself is the first node of the proof.
  if ((oldSize & (oldSize - 1)) === 0) path.unshift(oldRoot);
  let fn = oldSize - 1;
  let sn = newSize - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  const first = path.shift();
  if (!first) return false;
  let fr = first;
  let sr = first;
  for (const c of path) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && fr.equals(oldRoot) && sr.equals(newRoot);
}

/**
 * The right edge of a growing tree: one perfect subtree per set bit of the size. Appending a leaf
 * completes the subtrees it closes (returned, to be stored); the root folds the edge from the right.
 */
export class Frontier {
  /** level -> hash of the last complete subtree at that level, for the set bits of `size`. */
  private readonly edge = new Map<number, Hash>();

  constructor(
    public size = 0,
    edge: Iterable<[number, Hash]> = [],
  ) {
    for (const [level, hash] of edge) this.edge.set(level, hash);
  }

  /** The addresses of the perfect subtrees that make up a tree of `size` leaves (to load a Frontier). */
  static addressesFor(size: number): NodeAddress[] {
    const out: NodeAddress[] = [];
    for (let level = 0; 2 ** level <= size; level++) {
      const count = Math.floor(size / 2 ** level);
      if (count % 2 === 1) out.push({ level, index: count - 1 });
    }
    return out;
  }

  /** Appends a leaf hash; returns every node completed by it (the leaf first), to be stored. */
  append(leaf: Hash): Array<NodeAddress & { hash: Hash }> {
    const completed: Array<NodeAddress & { hash: Hash }> = [{ level: 0, index: this.size, hash: leaf }];
    let carry = leaf;
    let level = 0;
    let index = this.size;
    while (index % 2 === 1) {
      const left = this.edge.get(level);
      if (!left) throw new Error(`frontier has no subtree at level ${level} for size ${this.size}`);
      this.edge.delete(level);
      carry = nodeHash(left, carry);
      level += 1;
      index = Math.floor(index / 2);
      completed.push({ level, index, hash: carry });
    }
    this.edge.set(level, carry);
    this.size += 1;
    return completed;
  }

  root(): Hash {
    if (this.size === 0) return EMPTY_ROOT;
    const levels = [...this.edge.keys()].sort((a, b) => a - b);
    let hash = this.edge.get(levels[0]!)!;
    for (const level of levels.slice(1)) hash = nodeHash(this.edge.get(level)!, hash);
    return hash;
  }
}
