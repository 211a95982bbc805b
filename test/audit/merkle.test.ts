// The RFC 6962 tree against the Certificate Transparency reference vectors (the leaves and roots
// used by the CT and Trillian test suites), and the incremental form the sealer stores (perfect
// subtrees appended leaf by leaf) against the recursive definition for every size up to 70.
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import {
  consistencyPath,
  EMPTY_ROOT,
  Frontier,
  inclusionPath,
  leafHash,
  nodeHash,
  rootHash,
  verifyConsistency,
  verifyInclusion,
  type Hash,
  type NodeReader,
} from '../../app/audit/merkle.js';

const hex = (b: Buffer) => b.toString('hex');
const unhex = (s: string) => Buffer.from(s, 'hex');

const CT_LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map(unhex);
const CT_ROOTS = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];

/** MTH straight from RFC 6962 2.1, over a list of leaf hashes. */
function referenceRoot(leaves: Hash[]): Hash {
  if (leaves.length === 0) return createHash('sha256').digest();
  if (leaves.length === 1) return leaves[0]!;
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return nodeHash(referenceRoot(leaves.slice(0, k)), referenceRoot(leaves.slice(k)));
}

/** The sealer's way: append leaf by leaf into a Frontier, keeping every completed subtree. */
function storedTree(leaves: Hash[]): { read: NodeReader; roots: Hash[] } {
  const nodes = new Map<string, Hash>();
  const frontier = new Frontier();
  const roots = [frontier.root()];
  for (const leaf of leaves) {
    for (const n of frontier.append(leaf)) nodes.set(`${n.level}/${n.index}`, n.hash);
    roots.push(frontier.root());
  }
  const read: NodeReader = async ({ level, index }) => {
    const hash = nodes.get(`${level}/${index}`);
    if (!hash) throw new Error(`node ${level}/${index} was never stored`);
    return hash;
  };
  return { read, roots };
}

describe('RFC 6962 Merkle tree', () => {
  const ctLeafHashes = CT_LEAVES.map(leafHash);

  it('gives the Certificate Transparency reference roots for sizes 0 to 8, recursively and incrementally', async () => {
    const { read, roots } = storedTree(ctLeafHashes);
    expect(hex(EMPTY_ROOT)).to.equal(CT_ROOTS[0]);
    for (let n = 0; n <= 8; n++) {
      expect(hex(await rootHash(read, n)), `stored nodes, size ${n}`).to.equal(CT_ROOTS[n]);
      expect(hex(roots[n]!), `frontier, size ${n}`).to.equal(CT_ROOTS[n]);
    }
  });

  it('gives the reference inclusion and consistency proofs', async () => {
    const { read } = storedTree(ctLeafHashes);
    expect((await inclusionPath(read, 0, 8)).map(hex)).to.deep.equal([
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ]);
    expect((await inclusionPath(read, 5, 8)).map(hex)).to.deep.equal([
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ]);
    expect((await consistencyPath(read, 2, 8)).map(hex)).to.deep.equal([
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ]);
    expect((await consistencyPath(read, 6, 8)).map(hex)).to.deep.equal([
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ]);
  });

  it('proves every leaf of every tree up to 70 leaves and every pair of sizes consistent; a changed proof fails', async () => {
    const leaves = Array.from({ length: 70 }, (_, i) => leafHash(Buffer.from(`record ${i}`)));
    const { read, roots } = storedTree(leaves);
    for (let n = 1; n <= leaves.length; n++) {
      const root = referenceRoot(leaves.slice(0, n));
      expect(roots[n]!.equals(root), `frontier root of size ${n}`).to.equal(true);
      expect((await rootHash(read, n)).equals(root), `stored root of size ${n}`).to.equal(true);
      for (let m = 0; m < n; m++) {
        const path = await inclusionPath(read, m, n);
        expect(verifyInclusion(leaves[m]!, m, n, path, root), `leaf ${m} in ${n}`).to.equal(true);
        if (path.length > 0) {
          const bent = path.map((h) => Buffer.from(h));
          bent[0]![0]! ^= 1;
          expect(verifyInclusion(leaves[m]!, m, n, bent, root)).to.equal(false);
        }
        if (n > 1) expect(verifyInclusion(leaves[(m + 1) % n]!, m, n, path, root), `another leaf at ${m} in ${n}`).to.equal(false);
      }
      for (let m = 0; m <= n; m++) {
        const proof = await consistencyPath(read, m, n);
        expect(verifyConsistency(m, n, roots[m]!, root, proof), `consistency ${m} -> ${n}`).to.equal(true);
        if (m > 0 && m < n) expect(verifyConsistency(m, n, roots[m - 1]!, root, proof), `wrong old root ${m} -> ${n}`).to.equal(false);
      }
    }
  });
});
