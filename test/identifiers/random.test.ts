// Pooled random bytes (app/identifiers/random.ts): the GCM nonces of the data vault, the serials of
// timestamp tokens and the random part of ids all come from it, so no byte may be handed out twice
// and no caller may see another's bytes change under it.
import { expect } from 'chai';
import { pooledRandomBytes } from '../../app/identifiers/index.js';

describe('pooled random bytes', () => {
  it('never hands out the same bytes twice, across many refills of the pool', () => {
    const seen = new Set<string>();
    // 12-byte nonces past several 4 KiB pools, and sizes that do not divide the pool.
    for (let i = 0; i < 5000; i++) {
      const size = [12, 16, 10, 7][i % 4]!;
      const bytes = pooledRandomBytes(size);
      expect(bytes.length).to.equal(size);
      const hex = bytes.toString('hex');
      expect(seen.has(hex), `repeated ${hex}`).to.equal(false);
      seen.add(hex);
    }
  });

  it('gives each caller a buffer of its own', () => {
    const first = pooledRandomBytes(16);
    const kept = Buffer.from(first);
    first.fill(0);
    const second = pooledRandomBytes(16);
    expect(second.equals(Buffer.alloc(16))).to.equal(false);
    expect(first.buffer === second.buffer && first.byteOffset + 16 > second.byteOffset && second.byteOffset + 16 > first.byteOffset).to.equal(false);
    expect(kept.equals(Buffer.alloc(16))).to.equal(false);
  });

  it('looks uniform: every byte value turns up about as often', () => {
    const counts = new Array<number>(256).fill(0);
    for (let i = 0; i < 2000; i++) for (const b of pooledRandomBytes(128)) counts[b]!++;
    // 256 000 bytes: 1 000 expected per value; a stuck or zeroed pool would be far outside.
    expect(Math.min(...counts)).to.be.above(800);
    expect(Math.max(...counts)).to.be.below(1200);
  });

  it('refuses sizes it was not made for', () => {
    for (const size of [0, -1, 1.5, 257]) expect(() => pooledRandomBytes(size)).to.throw(RangeError);
  });
});
