// Time-ordered record ids (UUID version 7): the layout of RFC 9562, ordered by their millisecond,
// and distinct within one millisecond (random bits from the pool of app/identifiers/random.ts).
import { expect } from 'chai';
import { timeOrderedId } from '../../app/identifiers/index.js';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The Unix time in milliseconds that a version 7 UUID begins with. */
function millisecondOf(id: string): number {
  return parseInt(id.replace(/-/g, '').slice(0, 12), 16);
}

describe('timeOrderedId (UUID version 7)', () => {
  it('has the version 7 and RFC 9562 variant bits, in lower-case text form', () => {
    for (let i = 0; i < 1000; i++) expect(timeOrderedId(new Date())).to.match(UUID_V7);
  });

  it('begins with the Unix time in milliseconds of the moment given, up to the last one it can hold', () => {
    const at = new Date(Date.UTC(2026, 11, 2, 9, 41, 7, 123));
    expect(millisecondOf(timeOrderedId(at))).to.equal(at.getTime());
    expect(millisecondOf(timeOrderedId(new Date(0)))).to.equal(0);
    expect(millisecondOf(timeOrderedId(new Date(2 ** 48 - 1)))).to.equal(2 ** 48 - 1);
  });

  it('sorts ids of later milliseconds after earlier ones', () => {
    const start = Date.UTC(2026, 0, 1);
    const ids = Array.from({ length: 500 }, (_, i) => timeOrderedId(new Date(start + i * 7)));
    expect([...ids].sort()).to.deep.equal(ids);
  });

  it('gives distinct ids within one millisecond, across refills of its random pool', () => {
    const now = new Date();
    const ids = Array.from({ length: 10_000 }, () => timeOrderedId(now));
    expect(new Set(ids).size).to.equal(ids.length);
    // The 74 random bits vary in every position that holds them, not only in some.
    const randomHex = ids.map((id) => id.replace(/-/g, '').slice(13));
    for (let position = 0; position < randomHex[0]!.length; position++) {
      if (position === 3) continue; // the variant nibble holds two random bits only
      expect(new Set(randomHex.map((hex) => hex[position])).size, `hex digit ${position} of the random part`).to.equal(16);
    }
  });
});
