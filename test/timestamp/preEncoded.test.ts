// DER templates (app/timestamp/preEncoded.ts): a primitive value filled into the encoding asn1js made
// once for its length is byte for byte what asn1js encodes for that content, at every length the
// built-in TSA uses (a SHA-256 digest, a serial with and without its leading zero, ECDSA and RSA
// signatures), and content of another length is refused rather than written under a wrong length.
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import * as asn1js from 'asn1js';
import { DerTemplate } from '../../app/timestamp/preEncoded.js';

const octetString = (content: Uint8Array) => Buffer.from(new asn1js.OctetString({ valueHex: content }).toBER(false));
const integer = (content: Uint8Array) => Buffer.from(new asn1js.Integer({ valueHex: content }).toBER(false));

/** Minimal two's-complement content of a positive INTEGER, as the TSA's serials are. */
function positiveInteger(length: number): Buffer {
  const content = randomBytes(length);
  if (length === 1) return Buffer.from([content[0]! & 0x7f]);
  content[0] = length === 17 ? 0 : 1 + (content[0]! % 0x7f);
  if (length === 17) content[1] = content[1]! | 0x80;
  return content;
}

describe('DER templates of primitive values', () => {
  for (const length of [1, 32, 70, 71, 72, 127, 128, 256]) {
    it(`an OCTET STRING of ${length} bytes is what asn1js encodes`, () => {
      const template = DerTemplate.encodeContent(length, octetString);
      for (let i = 0; i < 20; i++) {
        const content = randomBytes(length);
        expect(template.fill([content]).equals(octetString(content))).to.equal(true);
      }
    });
  }

  for (const length of [16, 17]) {
    it(`an INTEGER of ${length} content bytes is what asn1js encodes`, () => {
      const template = DerTemplate.encodeContent(length, integer);
      for (let i = 0; i < 20; i++) {
        const content = positiveInteger(length);
        expect(template.fill([content]).equals(integer(content))).to.equal(true);
      }
    });
  }

  it('refuses content of another length than the template was made for', () => {
    const template = DerTemplate.encodeContent(32, octetString);
    expect(() => template.fill([randomBytes(31)])).to.throw(/must be 32 bytes, not 31/);
  });
});
