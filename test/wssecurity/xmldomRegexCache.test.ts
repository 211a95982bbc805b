import { createRequire } from 'node:module';
import { expect } from 'chai';
import { parseStrict } from '../../app/wssecurity/parse.js';

const require = createRequire(import.meta.url);
const grammar = require('@xmldom/xmldom/lib/grammar.js') as { reg: (...parts: (string | RegExp)[]) => RegExp; QName_group: RegExp; S_OPT: RegExp; Name: RegExp };

function refusalOf(xml: string): string {
  try {
    parseStrict(xml);
  } catch (err) {
    expect((err as { code?: string }).code).to.equal('InvalidSecurity');
    return (err as Error).message;
  }
  throw new Error('the parser accepted the text');
}

describe('xmldom end-tag expression, built once', function () {
  it('is installed by the request parser', function () {
    expect((grammar.reg as unknown as Record<symbol, unknown>)[Symbol.for('epost.xmldomRegexCache')]).to.equal(true);
  });

  it('gives the parser the same expression for the same grammar parts, and distinct ones for other parts', function () {
    // The call xmldom's sax.js makes for every end tag.
    const first = grammar.reg('^', grammar.QName_group, grammar.S_OPT, '$');
    expect(grammar.reg('^', grammar.QName_group, grammar.S_OPT, '$')).to.equal(first);
    const other = grammar.reg('^', grammar.QName_group);
    expect(other).to.not.equal(first);
    expect(other.source).to.equal(`^${grammar.QName_group.source}`);
    expect(grammar.reg('^', grammar.Name, '$').test('a:b')).to.equal(true);
  });

  it('leaves end-tag checking as strict as before, parse after parse', function () {
    for (let round = 0; round < 3; round++) {
      const doc = parseStrict('<p:a xmlns:p="urn:epost:test"><b>x</b ><c/></p:a>');
      expect(doc.documentElement?.localName).to.equal('a');
      expect(refusalOf('<a><b></b x></a>')).to.match(/not well-formed/);
      expect(refusalOf('<a><b></c></a>')).to.match(/not well-formed/);
      expect(refusalOf('<a><b></b\u00A0></a>')).to.match(/not well-formed/);
    }
  });
});
